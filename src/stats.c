/* SPDX-License-Identifier: BSD-2-Clause */
#include "cli.h"
#include "util.h"

int cmd_stats(int argc, char **argv)
{
	rf_err("'stats' is not available in this build yet");
	return RF_EXIT_RUNTIME;
}
