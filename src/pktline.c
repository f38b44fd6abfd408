/* SPDX-License-Identifier: BSD-2-Clause */
#include "pktline.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"

/* A bounded string builder: appends stop (silently) at the end of the buffer. */
struct sbuf {
	char *p;
	size_t len;
	size_t used;
};

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->used + 1 >= b->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->used, b->len - b->used, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	b->used += (size_t)n < b->len - b->used ? (size_t)n : b->len - b->used - 1;
}

static void put_layers(struct sbuf *b, const struct rf_decoded *d)
{
	unsigned int i;

	for (i = 0; i < d->n_layers; i++)
		sb_printf(b, "%s%s", i ? ">" : "", rf_layer_name(d->layers[i]));
	if (!d->n_layers)
		sb_printf(b, "-");
}

/* "1.2.3.4:80" or "[2001:db8::1]:80"; without ports "1.2.3.4" / "2001:db8::1". */
static void put_endpoint(struct sbuf *b, const uint8_t *pkt, uint32_t caplen, uint16_t off,
			 int version, bool ports, uint16_t port)
{
	char addr[INET6_ADDRSTRLEN];
	int af = version == 6 ? AF_INET6 : AF_INET;
	uint32_t alen = version == 6 ? 16 : 4;

	if ((uint32_t)off + alen > caplen || !inet_ntop(af, pkt + off, addr, sizeof(addr)))
		snprintf(addr, sizeof(addr), "?");
	if (!ports)
		sb_printf(b, "%s", addr);
	else if (af == AF_INET6)
		sb_printf(b, "[%s]:%u", addr, port);
	else
		sb_printf(b, "%s:%u", addr, port);
}

size_t rf_pktline(const uint8_t *pkt, uint32_t caplen, uint32_t wirelen, int linktype, char *buf,
		  size_t len)
{
	struct sbuf b = {.p = buf, .len = len};
	struct rf_decoded d;
	int arp;

	if (!len)
		return 0;
	buf[0] = '\0';
	rf_decode(pkt, caplen, linktype, 0, &d);
	put_layers(&b, &d);
	arp = rf_decoded_arp(&d);
	if (arp >= 0) {
		sb_printf(&b, " ");
		put_endpoint(&b, pkt, caplen, (uint16_t)(arp + RF_ARP_SPA), 4, false, 0);
		sb_printf(&b, " > ");
		put_endpoint(&b, pkt, caplen, (uint16_t)(arp + RF_ARP_TPA), 4, false, 0);
	} else if (d.n_ip) {
		const struct rf_ip *ip = &d.ip[d.n_ip - 1];
		bool ports = ip->flags & RF_IP_PORTS;

		sb_printf(&b, " ");
		put_endpoint(&b, pkt, caplen, ip->src_off, ip->version, ports, ip->sport);
		sb_printf(&b, " > ");
		put_endpoint(&b, pkt, caplen, ip->dst_off, ip->version, ports, ip->dport);
		if (ip->flags & RF_IP_FRAG)
			sb_printf(&b, " frag@%u%s", ip->frag_off, ip->flags & RF_IP_MF ? "+" : "");
	}
	sb_printf(&b, " len %u", wirelen);
	if (caplen < wirelen)
		sb_printf(&b, " cap %u", caplen);
	if (d.reason != RF_DEC_OK)
		sb_printf(&b, " [%s]", rf_decode_reason_name(d.reason));
	return b.used;
}
