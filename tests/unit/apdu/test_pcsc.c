/* PC/SC transport pieces that need no pcscd: the SCARD_* -> apdu_status mapping and
 * argument checks. The transport itself runs against a private pcscd in
 * tests/integration/test-pcsc-transport.sh. */
#include "apdu_test.h"
#include "pcsc.h"

/* pcsc-lite's return codes (pcsclite.h; the values are the Windows PC/SC ABI). The test
 * cannot include winscard.h: vt_apdu keeps pcsc-lite's include path private. */
#define SCARD_S_SUCCESS              0x00000000L
#define SCARD_F_INTERNAL_ERROR       0x80100001L
#define SCARD_E_CANCELLED            0x80100002L
#define SCARD_E_INVALID_HANDLE       0x80100003L
#define SCARD_E_INVALID_PARAMETER    0x80100004L
#define SCARD_E_NO_MEMORY            0x80100006L
#define SCARD_E_INSUFFICIENT_BUFFER  0x80100008L
#define SCARD_E_UNKNOWN_READER       0x80100009L
#define SCARD_E_TIMEOUT              0x8010000AL
#define SCARD_E_SHARING_VIOLATION    0x8010000BL
#define SCARD_E_NO_SMARTCARD         0x8010000CL
#define SCARD_E_PROTO_MISMATCH       0x8010000FL
#define SCARD_E_INVALID_VALUE        0x80100011L
#define SCARD_E_SYSTEM_CANCELLED     0x80100012L
#define SCARD_F_COMM_ERROR           0x80100013L
#define SCARD_E_READER_UNAVAILABLE   0x80100017L
#define SCARD_E_PCI_TOO_SMALL        0x80100019L
#define SCARD_E_CARD_UNSUPPORTED     0x8010001CL
#define SCARD_E_NO_SERVICE           0x8010001DL
#define SCARD_E_SERVICE_STOPPED      0x8010001EL
#define SCARD_E_NO_READERS_AVAILABLE 0x8010002EL
#define SCARD_W_UNSUPPORTED_CARD     0x80100065L
#define SCARD_W_UNRESPONSIVE_CARD    0x80100066L
#define SCARD_W_UNPOWERED_CARD       0x80100067L
#define SCARD_W_RESET_CARD           0x80100068L
#define SCARD_W_REMOVED_CARD         0x80100069L

static const struct {
    long rv;
    apdu_status st;
} map[] = {
    {SCARD_S_SUCCESS, APDU_OK},
    {SCARD_E_NO_SMARTCARD, APDU_ERR_NO_CARD},
    {SCARD_W_REMOVED_CARD, APDU_ERR_NO_CARD},
    {SCARD_W_RESET_CARD, APDU_ERR_CARD_RESET},
    {SCARD_E_TIMEOUT, APDU_ERR_TIMEOUT},
    {SCARD_E_CANCELLED, APDU_ERR_CANCELLED},
    {SCARD_E_SYSTEM_CANCELLED, APDU_ERR_CANCELLED},
    {SCARD_E_UNKNOWN_READER, APDU_ERR_NO_READER},
    {SCARD_E_READER_UNAVAILABLE, APDU_ERR_NO_READER},
    {SCARD_E_NO_READERS_AVAILABLE, APDU_ERR_NO_READER},
    {SCARD_E_NO_MEMORY, APDU_ERR_NOMEM},
    {SCARD_E_INSUFFICIENT_BUFFER, APDU_ERR_BUFFER},
    {SCARD_E_PCI_TOO_SMALL, APDU_ERR_BUFFER},
    {SCARD_E_INVALID_PARAMETER, APDU_ERR_ARGS},
    {SCARD_E_INVALID_VALUE, APDU_ERR_ARGS},
    {SCARD_E_PROTO_MISMATCH, APDU_ERR_PROTOCOL},
    {SCARD_E_CARD_UNSUPPORTED, APDU_ERR_PROTOCOL},
    {SCARD_W_UNSUPPORTED_CARD, APDU_ERR_PROTOCOL},
    {SCARD_E_NO_SERVICE, APDU_ERR_IO},
    {SCARD_E_SERVICE_STOPPED, APDU_ERR_IO},
    {SCARD_E_INVALID_HANDLE, APDU_ERR_IO},
    {SCARD_E_SHARING_VIOLATION, APDU_ERR_IO},
    {SCARD_W_UNRESPONSIVE_CARD, APDU_ERR_IO},
    {SCARD_W_UNPOWERED_CARD, APDU_ERR_IO},
    {SCARD_F_COMM_ERROR, APDU_ERR_IO},
    {SCARD_F_INTERNAL_ERROR, APDU_ERR_IO},
};

START_TEST(status_map)
{
    apdu_status st = apdu_pcsc_status(map[_i].rv);
    ck_assert_msg(st == map[_i].st, "SCARD %lX: got %s, want %s", (unsigned long)map[_i].rv,
                  apdu_status_name(st), apdu_status_name(map[_i].st));
}
END_TEST

START_TEST(null_arguments)
{
    char **names = NULL;
    apdu_transport *t = NULL;
    apdu_reader_state rs = {"reader", 0, 0, false, false, {0}, 0};
    ck_assert_int_eq(apdu_pcsc_open_context(NULL), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_pcsc_list_readers(NULL, &names), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_pcsc_connect(NULL, "reader", &t), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_pcsc_wait(NULL, &rs, 1, 0, false), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_pcsc_cancel(NULL), APDU_ERR_ARGS);
    apdu_pcsc_close_context(NULL);
    apdu_pcsc_free_list(NULL);
}
END_TEST

Suite *pcsc_suite(void)
{
    Suite *s = suite_create("pcsc");
    TCase *tc = tcase_create("map");
    tcase_add_loop_test(tc, status_map, 0, (int)VT_ARRAY_LEN(map));
    tcase_add_test(tc, null_arguments);
    suite_add_tcase(s, tc);
    return s;
}
