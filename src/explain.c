/* SPDX-License-Identifier: BSD-2-Clause */
#include "cli.h"
#include "util.h"

int cmd_explain(int argc, char **argv)
{
	rf_err("'explain' is not available in this build yet");
	return RF_EXIT_RUNTIME;
}
