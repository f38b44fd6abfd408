/* SPDX-License-Identifier: BSD-2-Clause */
#include "cli.h"
#include "util.h"

int cmd_count(int argc, char **argv)
{
	rf_err("'count' is not available in this build yet");
	return RF_EXIT_RUNTIME;
}
