/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Live capture on one network interface with AF_XDP. Used by the balancer's
 * afxdp source.
 *
 * An XDP program on the interface redirects every frame received on a
 * captured queue into that queue's AF_XDP socket: straight into our frame
 * memory where the driver can (zero-copy), else copied there by the kernel.
 * Frames of queues without a socket go on to the kernel's stack. The program
 * is libxdp's own AF_XDP redirect program (xsk_def_prog), attached through
 * a BPF link that this handle holds: the kernel detaches it when the link's
 * last descriptor is closed, however the process ends (SIGKILL included),
 * so a capture never leaves the interface behind with a program on it.
 * While the link holds the hook, nobody else can attach an XDP program to
 * the interface (`ip link set IF xdp off` is refused too).
 *
 * What XDP sees is what the interface received, ahead of the kernel's
 * stack: packets the host sends are never seen; frames are as they were on
 * the wire, except for what the NIC did before (a VLAN tag it took out of
 * the frame: RF_OFFLOAD_RXVLAN; merged segments: LRO, hardware GRO) and,
 * in skb mode only, GRO; captured frames do not reach the stack (the
 * capture takes them). There is no kernel timestamp: packets are stamped
 * when a burst is read.
 */
#ifndef RINGFAN_AFXDP_H
#define RINGFAN_AFXDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ringfan/ringfan.h>

#define RF_XDP_ALL_QUEUES (-1)

struct rf_xdp;

enum rf_xdp_mode {
	RF_XDP_MODE_AUTO,   /* native when the driver has XDP, else skb; skb on a veth */
	RF_XDP_MODE_SKB,    /* generic XDP in the kernel's stack (after GRO): any interface */
	RF_XDP_MODE_NATIVE, /* in the driver, before the kernel builds a packet */
};

struct rf_xdp_opts {
	const char *ifname;
	int queue; /* the receive queue to capture, or RF_XDP_ALL_QUEUES */
	uint64_t
		umem_size; /* frame memory of all queues together; 0: 32 MiB (at least 1 MiB each) */
	enum rf_xdp_mode mode;
};

/* What rf_xdp_open() set up (for the log). */
struct rf_xdp_info {
	uint32_t first_queue;
	uint32_t n_queues;
	uint32_t frames;       /* per queue */
	uint32_t frame_size;   /* bytes of frame memory per packet */
	enum rf_xdp_mode mode; /* as attached: RF_XDP_MODE_SKB or RF_XDP_MODE_NATIVE */
	bool zerocopy;	       /* every socket is in zero-copy mode (else the kernel copies) */
	uint32_t prog_id;
	const char *prog_name;
};

/*
 * Open the capture: load the program, bind one socket per queue and put it
 * in the program's map, then attach the program, so that from the first
 * frame it redirects, every captured queue has its socket. Errors: -ENODEV
 * no such interface; -ENETDOWN interface is down; -ENXIO no such receive
 * queue; -E2BIG a queue beyond those the program's map holds; -EBUSY/-EEXIST the interface's XDP
 * hook (or a queue) is taken (rf_xdp_hook_owner() says by whom);
 * -EOPNOTSUPP native mode asked of a driver without XDP; -ERANGE the MTU
 * is too large for XDP on this driver; -ENOENT libxdp's program file is
 * missing; -EPERM/-EACCES not allowed (CAP_NET_ADMIN, CAP_NET_RAW,
 * CAP_BPF); -ENOBUFS frame memory beyond RLIMIT_MEMLOCK; other negative
 * errno.
 */
int rf_xdp_open(const struct rf_xdp_opts *opts, struct rf_xdp **ret_xdp);

/*
 * Who holds the XDP hook of interface ifname, for a message, into buf: "XDP
 * program 'xsk_def_prog' (id 12, native mode), held by pid 4242 (ringfan
 * balance -i afxdp:eth1 -c 30 -n 2) through a BPF link; one AF_XDP capture
 * per interface", or "..., attached without an owner (...); if nothing uses
 * it, 'ip link set dev eth1 xdp off' removes it". Looking for the holder
 * needs CAP_SYS_ADMIN; without it only the program is named. -ENOENT when
 * nothing is attached.
 */
int rf_xdp_hook_owner(const char *ifname, char *buf, size_t len);

/* Pollable descriptor: POLLIN when any socket has frames. */
int rf_xdp_fd(const struct rf_xdp *x);

void rf_xdp_get_info(const struct rf_xdp *x, struct rf_xdp_info *ret);

/*
 * Up to max packets, from the sockets in turn (pointers into the frame
 * memory; ts_ns, caplen = wirelen, ifindex set; hash and flags 0). Returns
 * the count, 0 if none is ready. The packets stay valid until
 * rf_xdp_release(). Not thread-safe: one thread per handle.
 */
int rf_xdp_next_burst(struct rf_xdp *x, struct rf_packet *pkts, unsigned int max);

/* Give the frames of every packet returned since the last release back to the kernel. */
void rf_xdp_release(struct rf_xdp *x);

/* The interface now: 1 up, 0 down, -ENODEV gone (see rf_iface_link()). */
int rf_xdp_link(const struct rf_xdp *x);

/*
 * Is our program still attached to the interface? 1 yes; 0 no (someone
 * detached its link: frames go to the stack); negative errno. Needs no
 * privilege (asks rtnetlink).
 */
int rf_xdp_attached(const struct rf_xdp *x);

/* Attach the program again after it was detached (needs CAP_NET_ADMIN). */
int rf_xdp_attach_again(struct rf_xdp *x);

/*
 * Frames the kernel dropped for this capture since open: no free frame or a
 * full receive ring (the balancer fell behind), or a frame larger than the
 * frame memory allows (the MTU was raised after open).
 */
int rf_xdp_stats(const struct rf_xdp *x, uint64_t *ret_drops);

/* Detaches the program first, then closes the sockets. NULL is a no-op. */
void rf_xdp_close(struct rf_xdp *x);

const char *rf_xdp_mode_name(enum rf_xdp_mode m);

#endif
