/* apdu_status and sim_status -> CK_RV. Drivers map status words themselves. */
#include "rv.h"

CK_RV p11_rv_from_apdu(apdu_status st)
{
    switch (st) {
    case APDU_OK:
        return CKR_OK;
    case APDU_ERR_NOMEM:
        return CKR_HOST_MEMORY;
    case APDU_ERR_NO_CARD:
    case APDU_ERR_NO_READER:
        return CKR_TOKEN_NOT_PRESENT;
    case APDU_ERR_CARD_RESET:
    case APDU_ERR_IO:
    case APDU_ERR_PROTOCOL:
    case APDU_ERR_TIMEOUT:
        return CKR_DEVICE_ERROR;
    case APDU_ERR_CANCELLED:
        return CKR_FUNCTION_CANCELED;
    case APDU_ERR_ARGS:
    case APDU_ERR_BUFFER:
        return CKR_GENERAL_ERROR;
    default:
        return CKR_DEVICE_ERROR;
    }
}

CK_RV p11_rv_from_sim(sim_status st)
{
    switch (st) {
    case SIM_OK:
        return CKR_OK;
    case SIM_ERR_NOMEM:
        return CKR_HOST_MEMORY;
    case SIM_ERR_NOT_FOUND:
    case SIM_ERR_POWER:
        return CKR_TOKEN_NOT_PRESENT;
    case SIM_ERR_IMAGE:
    case SIM_ERR_PROFILE:
        return CKR_TOKEN_NOT_RECOGNIZED;
    case SIM_ERR_IO:
        return CKR_DEVICE_ERROR;
    default:
        return CKR_GENERAL_ERROR;
    }
}
