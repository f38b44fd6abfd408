/* SPDX-License-Identifier: BSD-2-Clause */
#include <ringfan/ringfan.h>

const char *rf_version(void)
{
	return "0.1.0";
}
