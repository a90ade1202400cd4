# Third-party dependencies, all from Debian packages (scripts/deps.sh installs them).
find_package(PkgConfig REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(TASN1 REQUIRED IMPORTED_TARGET libtasn1)
pkg_check_modules(PCSC REQUIRED IMPORTED_TARGET libpcsclite)
pkg_check_modules(CHECK REQUIRED IMPORTED_TARGET check)
# The PKCS#11 2.40 header comes from p11-kit; pkcs11/p11_v3.h adds the 3.0 interface types.
pkg_check_modules(P11KIT REQUIRED IMPORTED_TARGET p11-kit-1)
find_program(ASN1PARSER asn1Parser REQUIRED)

# vt_asn1_table(<out_var> <schema.asn> <symbol>): compile an ASN.1 module into a libtasn1 table.
function(vt_asn1_table out schema symbol)
  get_filename_component(_name ${schema} NAME_WE)
  set(_c ${CMAKE_CURRENT_BINARY_DIR}/${_name}_asn1_tab.c)
  add_custom_command(OUTPUT ${_c}
    COMMAND ${ASN1PARSER} -o ${_c} -n ${symbol} ${CMAKE_CURRENT_SOURCE_DIR}/${schema}
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${schema}
    COMMENT "asn1Parser ${schema}")
  set_source_files_properties(${_c} PROPERTIES COMPILE_OPTIONS "-Wno-missing-prototypes")
  set(${out} ${_c} PARENT_SCOPE)
endfunction()
