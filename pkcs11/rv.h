/* The lower layers' status codes as CK_RV, mapped once here. */
#ifndef P11_RV_H
#define P11_RV_H

#include "apdu.h"
#include "p11.h"
#include "sim.h"

CK_RV p11_rv_from_apdu(apdu_status st);
CK_RV p11_rv_from_sim(sim_status st);

#endif
