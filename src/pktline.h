/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One-line packet summary for `ringfan count -v`: the decoded layers, the
 * innermost IP addresses and ports (an ARP packet's protocol addresses),
 * and the length, e.g.
 *   "eth>vlan>ipv4>tcp 10.0.0.1:1234 > 10.0.0.2:80 len 74"
 * The caller prints the timestamp in front.
 */
#ifndef RINGFAN_PKTLINE_H
#define RINGFAN_PKTLINE_H

#include <stddef.h>
#include <stdint.h>

/* Longest line rf_pktline() writes, with its NUL (32 layer names, two IPv6 endpoints). */
#define RF_PKTLINE_MAX 512

/*
 * Summarise pkt[0..caplen) (link type DLT_*, wirelen bytes on the wire) into
 * buf (len bytes, always NUL-terminated when len > 0; cut short if too
 * small). Returns the length written, without the NUL.
 */
size_t rf_pktline(const uint8_t *pkt, uint32_t caplen, uint32_t wirelen, int linktype, char *buf,
		  size_t len);

#endif
