/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libringfan: public API.
 */
#ifndef RINGFAN_RINGFAN_H
#define RINGFAN_RINGFAN_H

#ifdef __cplusplus
extern "C" {
#endif

#define RF_EXPORT __attribute__((visibility("default")))

/* Library version string ("0.1.0"). Never NULL. */
RF_EXPORT const char *rf_version(void);

#ifdef __cplusplus
}
#endif
#endif
