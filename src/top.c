/* SPDX-License-Identifier: BSD-2-Clause */
#include "cli.h"
int cmd_top(int argc, char **argv)
{
	return 1;
}
