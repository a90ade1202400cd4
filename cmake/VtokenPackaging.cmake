# Install rules and packages (CPack DEB). Included last by the top-level CMakeLists.txt.
#
# `cmake --install <build>` installs the component "vtoken": the module under
# <libdir>/pkcs11/, its p11-kit registration, a pkg-config file, the `vtoken` command and
# its man pages. Optional components, installed only when asked for
# (`cmake --install <build> --component <name>`) and packaged as their own .deb:
#   vendor-names  libeToken.so, libeTPkcs11.so, libjcPKCS11-2.so -> the module
#   readers       pcscd's named virtual readers (reader.conf.d entries + vpcd driver copies)
#   service       a systemd user unit running `vtoken sim`
# `cpack -G DEB` builds vtoken, vtoken-vendor-names, vtoken-readers and vtoken-sim-service
# .debs. Configure with -DCMAKE_INSTALL_PREFIX=/usr for packages: the paths written into
# the p11-kit file, the .pc file and the reader entries are those of the configured prefix.

find_package(PkgConfig REQUIRED)

# --- where things go --------------------------------------------------------------------
set(VTOKEN_MODULE_DIR ${CMAKE_INSTALL_FULL_LIBDIR}/pkcs11)
set(VTOKEN_MODULE_PATH ${VTOKEN_MODULE_DIR}/libvtoken-pkcs11.so)

# p11-kit reads module files only from its own directories, whatever our prefix is.
pkg_get_variable(_p11kit_configs p11-kit-1 p11_module_configs)
if(NOT _p11kit_configs)
  set(_p11kit_configs ${CMAKE_INSTALL_FULL_DATADIR}/p11-kit/modules)
endif()
set(VTOKEN_P11KIT_MODULE_DIR ${_p11kit_configs} CACHE PATH
    "Where p11-kit looks for module files (p11-kit reads only its own directories)")

# pcscd reads reader entries only from its own directory; the vpcd driver is vsmartcard's.
pkg_get_variable(_pcsc_confdir libpcsclite serialconfdir)
pkg_get_variable(_pcsc_dropdir libpcsclite usbdropdir)
if(NOT _pcsc_confdir)
  set(_pcsc_confdir /etc/reader.conf.d)
endif()
if(NOT _pcsc_dropdir)
  set(_pcsc_dropdir /usr/lib/pcsc/drivers)
endif()
set(VTOKEN_READER_CONF_DIR ${_pcsc_confdir} CACHE PATH "pcscd's reader.conf.d directory")
set(VTOKEN_VPCD_DRIVER_DIR ${_pcsc_dropdir}/serial)
set(VTOKEN_VPCD_DRIVER ${VTOKEN_VPCD_DRIVER_DIR}/libifdvpcd.so CACHE FILEPATH
    "vsmartcard's vpcd driver, copied once per named reader at install time")
set(VTOKEN_VPCD_COPY_DIR ${CMAKE_INSTALL_FULL_LIBDIR}/vtoken/pcsc)
set(VTOKEN_READER_SNIPPET_SRC ${CMAKE_INSTALL_FULL_DATADIR}/vtoken/reader.conf.d/vtoken)
set(VTOKEN_PCSC_HELPER ${CMAKE_INSTALL_FULL_LIBEXECDIR}/vtoken/vtoken-pcsc-readers)

pkg_get_variable(_systemd_userunitdir systemd systemduserunitdir)
if(NOT _systemd_userunitdir)
  set(_systemd_userunitdir ${CMAKE_INSTALL_PREFIX}/lib/systemd/user)
endif()
set(VTOKEN_SYSTEMD_USER_UNIT_DIR ${_systemd_userunitdir} CACHE PATH "systemd user unit directory")

set(_gen ${PROJECT_BINARY_DIR}/packaging)

# --- component vtoken: module, registration, pkg-config, command, man pages -------------
if(TARGET vtoken-pkcs11)
  install(TARGETS vtoken-pkcs11 LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkcs11
          COMPONENT vtoken)
endif()
configure_file(${PROJECT_SOURCE_DIR}/pkcs11/vtoken-pkcs11.module.in
               ${_gen}/vtoken-pkcs11.module @ONLY)
install(FILES ${_gen}/vtoken-pkcs11.module DESTINATION ${VTOKEN_P11KIT_MODULE_DIR}
        COMPONENT vtoken)
configure_file(${PROJECT_SOURCE_DIR}/pkcs11/vtoken-pkcs11.pc.in ${_gen}/vtoken-pkcs11.pc @ONLY)
install(FILES ${_gen}/vtoken-pkcs11.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT vtoken)
if(TARGET vtoken)
  install(TARGETS vtoken RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT vtoken)
endif()
# Man pages are written with the command (tools/vtoken.1, ...): whatever is there.
file(GLOB _man_pages CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tools/*.[1-8])
foreach(_page ${_man_pages})
  string(REGEX REPLACE ".*\\.([1-8])$" "\\1" _section ${_page})
  install(FILES ${_page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${_section} COMPONENT vtoken)
endforeach()

# --- component vendor-names: the vendors' library names, as links to the module ----------
# The module looks at the name it was loaded under and shows only that vendor's token.
set(_vendor_names libeToken.so libeTPkcs11.so libjcPKCS11-2.so)
file(MAKE_DIRECTORY ${_gen}/vendor)
foreach(_name ${_vendor_names})
  file(CREATE_LINK libvtoken-pkcs11.so ${_gen}/vendor/${_name} SYMBOLIC)
  install(FILES ${_gen}/vendor/${_name} DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkcs11
          COMPONENT vendor-names EXCLUDE_FROM_ALL)
endforeach()

# --- component readers: named virtual readers for pcscd --------------------------------
# The entries need one copy of vsmartcard's vpcd driver per reader. That binary is not
# ours to ship, so the copies are made on the target machine: by the package's postinst
# (and again by a dpkg trigger whenever the driver is upgraded), or, for a plain
# `cmake --install` into the live system, right here. A staged install (DESTDIR, CPack)
# only stages the files.
configure_file(${PROJECT_SOURCE_DIR}/applet-sim/reader.conf.d/vtoken.in ${_gen}/reader.conf.d/vtoken
               @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/applet-sim/reader.conf.d/vtoken-pcsc-readers.in
               ${_gen}/vtoken-pcsc-readers @ONLY)
install(FILES ${_gen}/reader.conf.d/vtoken DESTINATION ${CMAKE_INSTALL_DATADIR}/vtoken/reader.conf.d
        COMPONENT readers EXCLUDE_FROM_ALL)
install(PROGRAMS ${_gen}/vtoken-pcsc-readers DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/vtoken
        COMPONENT readers EXCLUDE_FROM_ALL)
install(CODE "
  if(\"\$ENV{DESTDIR}\" STREQUAL \"\")
    execute_process(COMMAND ${VTOKEN_PCSC_HELPER} install RESULT_VARIABLE _rv)
    if(NOT _rv EQUAL 0)
      message(FATAL_ERROR \"${VTOKEN_PCSC_HELPER} install failed\")
    endif()
    message(STATUS \"Readers: ${VTOKEN_READER_CONF_DIR}/vtoken, drivers in ${VTOKEN_VPCD_COPY_DIR} (restart pcscd)\")
    foreach(_r kaztoken etoken jacarta)
      list(APPEND CMAKE_INSTALL_MANIFEST_FILES ${VTOKEN_VPCD_COPY_DIR}/libifdvpcd-\${_r}.so)
    endforeach()
    list(APPEND CMAKE_INSTALL_MANIFEST_FILES ${VTOKEN_READER_CONF_DIR}/vtoken)
  else()
    message(STATUS \"Readers: staged only; run ${VTOKEN_PCSC_HELPER} install on the target\")
  endif()" COMPONENT readers EXCLUDE_FROM_ALL)

# --- component service: systemd user unit for `vtoken sim` ------------------------------
configure_file(${PROJECT_SOURCE_DIR}/tools/vtoken-sim.service.in ${_gen}/vtoken-sim.service @ONLY)
install(FILES ${_gen}/vtoken-sim.service DESTINATION ${VTOKEN_SYSTEMD_USER_UNIT_DIR}
        COMPONENT service EXCLUDE_FROM_ALL)

# --- CPack: one .deb per component ------------------------------------------------------
set(CPACK_PACKAGE_NAME vtoken)
set(CPACK_PACKAGE_VENDOR "vtoken")
set(CPACK_PACKAGE_CONTACT "vtoken developers <vtoken@localhost>")
# No CPACK_PACKAGE_DESCRIPTION_SUMMARY: CPackDeb would put it above every package's own
# description. Each description's first line is its synopsis.
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# The packaged paths are the configured ones (see the header).
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_COMPONENTS_ALL vtoken vendor-names readers service)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)

set(CPACK_COMPONENT_VTOKEN_DESCRIPTION "virtual NCA signing tokens behind a PKCS#11 module
libvtoken-pkcs11.so emulates Kazakhstan's NCA signing tokens (Kaztoken, eToken PRO
(Java) 72K, JaCarta) at the APDU level, and NCA's PKCS#12 storage, for browsers (NSS),
Java (SunPKCS11), OpenSSL and pkcs11-tool. Registered with p11-kit. Includes the vtoken
command, which also puts the tokens into pcscd's virtual readers.")
set(CPACK_DEBIAN_VTOKEN_PACKAGE_NAME vtoken)
# libc6, libssl3, libtasn1-6, libpcsclite1 come from dpkg-shlibdeps.
set(CPACK_DEBIAN_VTOKEN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_VTOKEN_PACKAGE_RECOMMENDS "p11-kit")
set(CPACK_DEBIAN_VTOKEN_PACKAGE_SUGGESTS "vtoken-readers, opensc, libnss3-tools")

set(CPACK_COMPONENT_VENDOR-NAMES_DEPENDS vtoken)
set(CPACK_COMPONENT_VENDOR-NAMES_DESCRIPTION "vtoken PKCS#11 module under the vendors' library names
libeToken.so and libeTPkcs11.so (SafeNet eToken) and libjcPKCS11-2.so (JaCarta) in
the PKCS#11 module directory, as links to libvtoken-pkcs11.so, for programs that look
for a vendor's library. Loaded under such a name, the module shows only that vendor's
token.")
set(CPACK_DEBIAN_VENDOR-NAMES_PACKAGE_NAME vtoken-vendor-names)

set(CPACK_COMPONENT_READERS_DEPENDS vtoken)
set(CPACK_COMPONENT_READERS_DESCRIPTION "named virtual card readers for vtoken's tokens
pcscd reader entries DigiFlow LLP. KAZTOKEN, SafeNet Token JC and ARDS JaCarta
(vsmartcard's vpcd driver on ports 35963, 35965 and 35967), into which vtoken sim puts
the virtual tokens, so that PC/SC programs such as NCALayer see them as physical
tokens.")
set(CPACK_DEBIAN_READERS_PACKAGE_NAME vtoken-readers)
set(CPACK_DEBIAN_READERS_PACKAGE_DEPENDS "pcscd, vsmartcard-vpcd")
foreach(_script postinst prerm triggers)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/deb/readers.${_script}.in ${_gen}/deb/readers/${_script}
                 @ONLY)
  list(APPEND _readers_control ${_gen}/deb/readers/${_script})
endforeach()
file(CHMOD ${_gen}/deb/readers/postinst ${_gen}/deb/readers/prerm
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
     WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_READERS_PACKAGE_CONTROL_EXTRA ${_readers_control})
set(CPACK_DEBIAN_READERS_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_COMPONENT_SERVICE_DEPENDS vtoken)
set(CPACK_COMPONENT_SERVICE_DESCRIPTION "systemd user unit running vtoken sim
vtoken-sim.service keeps a user's virtual tokens in pcscd's virtual readers
(systemctl --user enable --now vtoken-sim.service).")
set(CPACK_DEBIAN_SERVICE_PACKAGE_NAME vtoken-sim-service)
set(CPACK_DEBIAN_SERVICE_PACKAGE_RECOMMENDS "vtoken-readers")

include(CPack)
