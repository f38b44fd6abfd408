/* SPDX-License-Identifier: BSD-2-Clause */
/* Subcommands of the ringfan program; each lives in its own file. */
#ifndef RINGFAN_CLI_H
#define RINGFAN_CLI_H

/* Each returns the process exit status (RF_EXIT_*). argv[0] is the subcommand name. */
int cmd_balance(int argc, char **argv);
int cmd_count(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_clean(int argc, char **argv);
int cmd_exporter(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_health(int argc, char **argv);
int cmd_run(int argc, char **argv);

#endif
