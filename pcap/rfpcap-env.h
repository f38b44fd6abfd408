/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What `ringfan run` tells libringfan-pcap through the environment: one
 * place for both sides.
 */
#ifndef RINGFAN_PCAP_ENV_H
#define RINGFAN_PCAP_ENV_H

/* The file name of the interposer (installed in the library directory). */
#define RFP_LIB_NAME "libringfan-pcap.so"
/* The default device: listed first by pcap_findalldevs(), pcap_lookupdev(). */
#define RFP_ENV_QUEUE "RINGFAN_PCAP_QUEUE"
/* Milliseconds pcap_activate() waits for a queue to appear (-1: for ever). */
#define RFP_ENV_WAIT "RINGFAN_PCAP_WAIT_MS"
/* 1: install the library's SIGBUS guard (RF_CONSUMER_GUARD_SIGBUS). */
#define RFP_ENV_GUARD "RINGFAN_PCAP_GUARD_SIGBUS"
/*
 * 1: life-cycle lines ("producer gone", "end of the run") on stderr. Off by
 * default: stderr is the program's (dumpcap's is its pipe to tshark).
 */
#define RFP_ENV_VERBOSE "RINGFAN_PCAP_VERBOSE"

#endif
