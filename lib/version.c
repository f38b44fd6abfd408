/* SPDX-License-Identifier: BSD-2-Clause */
#include <ringfan/ringfan.h>

#include "rf_build.h"

const char *rf_version(void)
{
	return RF_VERSION;
}
