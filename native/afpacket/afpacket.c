// afpacket: a Linux AF_PACKET (SOCK_RAW) socket for Node, in plain N-API C.
//
// One socket = one interface + one EtherType. Frames that pass the optional classic BPF
// filter are read when libuv reports the fd readable and handed to a JS callback as
// (Buffer frame, number pkttype). send() writes a complete Ethernet frame.
//
// JS surface (wrapped by src/net/packetSocket.ts):
//   new Socket(ifname, ethertype, filter, callback?)   filter: 0 none, 1 ARP request, 2 ICMPv6 NS
//   socket.ifindex, socket.mac (6-byte Buffer)
//   socket.send(frame) -> true (queued) | false (kernel buffer full, frame dropped)
//   socket.addMembership(mac6) / socket.dropMembership(mac6)
//   socket.close()
// callback(frame: Buffer, pkttype: number) for frames; callback(null, -errno, message) for
// socket errors (for example ENETDOWN when the link goes down; the socket stays usable).
//
// Nothing here may abort the process: every bad argument or failed syscall becomes a JS
// exception naming the interface, the syscall and the errno.
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include "napi_errno.h"
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <net/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define FILTER_NONE 0
#define FILTER_ARP_REQUEST 1
#define FILTER_ICMP6_NS 2

// Largest frame we read; bigger ones (jumbo frames beyond this) are skipped as truncated.
#define RX_BUFFER_SIZE 65536
// Frames handled per readiness callback before yielding to the event loop.
#define RX_BUDGET 64

typedef struct afp_socket {
  napi_env env;
  int fd;
  int ifindex;
  unsigned char mac[6];
  char ifname[IF_NAMESIZE];
  uv_poll_t poll;
  int polling;          // uv_poll initialised (a uv handle exists that must be closed)
  int closing;          // close() or env teardown happened: no more sends or callbacks
  int handle_closed;    // the uv close callback ran, or there never was a handle
  int finalized;        // the JS wrapper was garbage collected / env torn down
  int in_callback;      // inside napi_make_callback (defer releasing JS references)
  int refs_released;
  int teardown;         // closed by the env cleanup hook: do not touch JS any more
  napi_ref self_ref;    // strong while polling, so the wrapper outlives the open socket
  napi_ref callback_ref;
  napi_async_context async_ctx;
  unsigned char *rx;
} afp_socket;

// ---------------------------------------------------------------- errors

// Throws Error(message) with .code (errno name), .errno, .syscall and .ifname set.
static void throw_errno(napi_env env, int err, const char *syscall, const char *ifname, const char *hint) {
  char msg[512];
  snprintf(msg, sizeof msg, "afpacket: %s on interface \"%s\" failed: %s (%s)%s%s", syscall, ifname,
           strerror(err), errno_name(err), hint ? "; " : "", hint ? hint : "");
  napi_value error = errno_error(env, err, syscall, msg), ifn;
  if (!error) return;
  if (napi_create_string_utf8(env, ifname, NAPI_AUTO_LENGTH, &ifn) == napi_ok) napi_set_named_property(env, error, "ifname", ifn);
  napi_throw(env, error);
}

#define NAPI_OK_OR_RETURN(env, call, ret)                                    \
  do {                                                                      \
    if ((call) != napi_ok) {                                                \
      bool pending = false;                                                 \
      napi_is_exception_pending((env), &pending);                           \
      if (!pending) napi_throw_error((env), NULL, "afpacket: N-API call failed: " #call); \
      return (ret);                                                         \
    }                                                                       \
  } while (0)

// ---------------------------------------------------------------- BPF filters
// Offsets are from the start of the Ethernet header (SOCK_RAW). Loads past the end of a frame
// make classic BPF return 0, so short frames are dropped in the kernel. The filters are only a
// coarse pre-selection; src/speaker/l2 validates every field again.

#define VLAN_TAG_PRESENT_OFFSET (SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT)

// Untagged ARP with operation 1 (request). A frame whose 802.1Q tag was stripped into metadata
// belongs to a VLAN, not to this interface.
static struct sock_filter arp_request_filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (unsigned int)VLAN_TAG_PRESENT_OFFSET),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 4, 0),            // tagged -> drop
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),                  // EtherType
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_ARP, 0, 2),
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20),                  // ARP operation
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, 0),
    BPF_STMT(BPF_RET | BPF_K, 0x40000),
};

// Untagged IPv6 whose next header is ICMPv6 (58) and whose ICMPv6 type is 135 (Neighbor
// Solicitation). Hop limit, code, lengths and checksum are checked in JS so that malformed
// solicitations are counted rather than silently vanishing.
static struct sock_filter icmp6_ns_filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (unsigned int)VLAN_TAG_PRESENT_OFFSET),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 6, 0),            // tagged -> drop
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),                  // EtherType
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 4),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 20),                  // IPv6 next header
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 58, 0, 2),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 54),                  // ICMPv6 type
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 135, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, 0),
    BPF_STMT(BPF_RET | BPF_K, 0x40000),
};

// ---------------------------------------------------------------- lifetime

static void maybe_free(afp_socket *s) {
  if (s->handle_closed && s->finalized) {
    free(s->rx);
    free(s);
  }
}

static void on_handle_closed(uv_handle_t *h) {
  afp_socket *s = (afp_socket *)h->data;
  if (s->fd >= 0) {
    close(s->fd);  // also drops every PACKET_ADD_MEMBERSHIP of this socket
    s->fd = -1;
  }
  s->handle_closed = 1;
  maybe_free(s);
}

// Stops reading and closes the fd (now, or in the uv close callback). No JS calls here.
static void stop_io(afp_socket *s) {
  if (s->closing) return;
  s->closing = 1;
  if (s->polling) {
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
  } else {
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
    s->handle_closed = 1;
  }
}

static void release_js_refs(afp_socket *s) {
  if (s->refs_released || s->teardown) return;
  s->refs_released = 1;
  if (s->callback_ref) napi_delete_reference(s->env, s->callback_ref);
  s->callback_ref = NULL;
  if (s->async_ctx) napi_async_destroy(s->env, s->async_ctx);
  s->async_ctx = NULL;
  if (s->self_ref) napi_delete_reference(s->env, s->self_ref);
  s->self_ref = NULL;
}

// Environment teardown (process exit, worker termination): close without touching JS.
static void env_cleanup(void *arg) {
  afp_socket *s = (afp_socket *)arg;
  s->teardown = 1;
  stop_io(s);
}

static void finalize_socket(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  afp_socket *s = (afp_socket *)data;
  if (!s->closing) {
    // Only a socket without a callback can be collected while open (no strong self ref).
    napi_remove_env_cleanup_hook(env, env_cleanup, s);
    stop_io(s);
  }
  s->finalized = 1;
  maybe_free(s);
}

// ---------------------------------------------------------------- receive path

static void call_js(afp_socket *s, size_t argc, napi_value *argv) {
  napi_env env = s->env;
  napi_value cb, self, result;
  if (!s->callback_ref || !s->self_ref) return;
  if (napi_get_reference_value(env, s->callback_ref, &cb) != napi_ok || cb == NULL) return;
  if (napi_get_reference_value(env, s->self_ref, &self) != napi_ok || self == NULL) return;
  s->in_callback = 1;
  napi_status st = napi_make_callback(env, s->async_ctx, self, cb, argc, argv, &result);
  s->in_callback = 0;
  if (st == napi_pending_exception) {
    // A throwing JS handler is reported like any throwing event handler (uncaughtException).
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
}

static void deliver_error(afp_socket *s, int err, const char *what) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  char msg[256];
  snprintf(msg, sizeof msg, "afpacket: %s on interface \"%s\": %s (%s)", what, s->ifname, strerror(err), errno_name(err));
  napi_value argv[3];
  if (napi_get_null(env, &argv[0]) == napi_ok && napi_create_int32(env, -err, &argv[1]) == napi_ok &&
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &argv[2]) == napi_ok) {
    call_js(s, 3, argv);
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  (void)events;
  afp_socket *s = (afp_socket *)h->data;
  if (s->closing) return;
  if (status < 0) {
    deliver_error(s, -status, "poll");
    if (s->closing) release_js_refs(s);
    return;
  }
  for (int i = 0; i < RX_BUDGET && !s->closing; i++) {
    struct sockaddr_ll from;
    socklen_t fromlen = sizeof from;
    memset(&from, 0, sizeof from);
    ssize_t n = recvfrom(s->fd, s->rx, RX_BUFFER_SIZE, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from, &fromlen);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      // ENETDOWN is reported once when the link goes down; the socket keeps working after it.
      deliver_error(s, errno, "recvfrom");
      break;
    }
    if ((size_t)n > RX_BUFFER_SIZE) continue;            // truncated: not one of ours
    if (from.sll_pkttype == PACKET_OUTGOING) continue;   // our own frames (old kernels)
    napi_handle_scope scope;
    if (napi_open_handle_scope(s->env, &scope) != napi_ok) return;
    napi_value argv[2];
    void *copy;
    if (napi_create_buffer_copy(s->env, (size_t)n, s->rx, &copy, &argv[0]) == napi_ok &&
        napi_create_uint32(s->env, from.sll_pkttype, &argv[1]) == napi_ok) {
      call_js(s, 2, argv);
    }
    napi_close_handle_scope(s->env, scope);
  }
  if (s->closing) release_js_refs(s);  // close() was called from the handler
}

// ---------------------------------------------------------------- argument helpers

static afp_socket *unwrap_this(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  NAPI_OK_OR_RETURN(env, napi_get_cb_info(env, info, argc, argv, &self, NULL), NULL);
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "afpacket: method called on an object that is not an afpacket Socket");
    return NULL;
  }
  return (afp_socket *)data;
}

// Reads a Buffer / Uint8Array argument. Returns 0 and throws a TypeError if it is neither.
static int get_bytes(napi_env env, napi_value v, const char *what, unsigned char **data, size_t *len) {
  bool is = false;
  if (napi_is_buffer(env, v, &is) == napi_ok && is) {
    void *p;
    if (napi_get_buffer_info(env, v, &p, len) != napi_ok) return 0;
    *data = (unsigned char *)p;
    return 1;
  }
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    void *p;
    size_t length, offset;
    napi_value ab;
    if (napi_get_typedarray_info(env, v, &type, &length, &p, &ab, &offset) == napi_ok && type == napi_uint8_array) {
      *data = (unsigned char *)p;
      *len = length;
      return 1;
    }
  }
  char msg[128];
  snprintf(msg, sizeof msg, "afpacket: %s must be a Buffer or Uint8Array", what);
  napi_throw_type_error(env, NULL, msg);
  return 0;
}

static void throw_closed(napi_env env, afp_socket *s, const char *method) {
  char msg[128];
  snprintf(msg, sizeof msg, "afpacket: %s() on interface \"%s\": the socket is closed", method, s->ifname);
  napi_throw_error(env, "ERR_SOCKET_CLOSED", msg);
}

// ---------------------------------------------------------------- methods

static napi_value socket_send(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  afp_socket *s = unwrap_this(env, info, &argc, argv);
  if (!s) return NULL;
  if (s->closing) {
    throw_closed(env, s, "send");
    return NULL;
  }
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "afpacket: send(frame) needs a frame");
    return NULL;
  }
  unsigned char *frame;
  size_t len;
  if (!get_bytes(env, argv[0], "frame", &frame, &len)) return NULL;
  if (len < ETH_HLEN || len > 65535) {
    char msg[128];
    snprintf(msg, sizeof msg, "afpacket: frame length %zu is outside 14..65535 bytes", len);
    napi_throw_range_error(env, NULL, msg);
    return NULL;
  }
  struct sockaddr_ll to;
  memset(&to, 0, sizeof to);
  to.sll_family = AF_PACKET;
  to.sll_ifindex = s->ifindex;
  to.sll_halen = ETH_ALEN;
  memcpy(to.sll_addr, frame, ETH_ALEN);
  memcpy(&to.sll_protocol, frame + 12, 2);  // already network byte order
  ssize_t n;
  do {
    n = sendto(s->fd, frame, len, 0, (struct sockaddr *)&to, sizeof to);
  } while (n < 0 && errno == EINTR);
  napi_value ret;
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      NAPI_OK_OR_RETURN(env, napi_get_boolean(env, false, &ret), NULL);
      return ret;
    }
    throw_errno(env, errno, "sendto", s->ifname, NULL);
    return NULL;
  }
  NAPI_OK_OR_RETURN(env, napi_get_boolean(env, true, &ret), NULL);
  return ret;
}

static napi_value membership(napi_env env, napi_callback_info info, int add) {
  size_t argc = 1;
  napi_value argv[1];
  const char *method = add ? "addMembership" : "dropMembership";
  afp_socket *s = unwrap_this(env, info, &argc, argv);
  if (!s) return NULL;
  if (s->closing) {
    throw_closed(env, s, method);
    return NULL;
  }
  unsigned char *mac;
  size_t len;
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "afpacket: membership needs a 6-byte MAC address");
    return NULL;
  }
  if (!get_bytes(env, argv[0], "mac", &mac, &len)) return NULL;
  if (len != ETH_ALEN) {
    napi_throw_range_error(env, NULL, "afpacket: a multicast MAC address has exactly 6 bytes");
    return NULL;
  }
  struct packet_mreq mr;
  memset(&mr, 0, sizeof mr);
  mr.mr_ifindex = s->ifindex;
  mr.mr_type = PACKET_MR_MULTICAST;
  mr.mr_alen = ETH_ALEN;
  memcpy(mr.mr_address, mac, ETH_ALEN);
  if (setsockopt(s->fd, SOL_PACKET, add ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP, &mr, sizeof mr) < 0) {
    throw_errno(env, errno, add ? "setsockopt(PACKET_ADD_MEMBERSHIP)" : "setsockopt(PACKET_DROP_MEMBERSHIP)", s->ifname, NULL);
    return NULL;
  }
  return NULL;
}

static napi_value socket_add_membership(napi_env env, napi_callback_info info) { return membership(env, info, 1); }
static napi_value socket_drop_membership(napi_env env, napi_callback_info info) { return membership(env, info, 0); }

static napi_value socket_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  afp_socket *s = unwrap_this(env, info, &argc, NULL);
  if (!s) return NULL;
  if (!s->closing) {
    napi_remove_env_cleanup_hook(env, env_cleanup, s);
    stop_io(s);
  }
  if (!s->in_callback) release_js_refs(s);
  return NULL;
}

// ---------------------------------------------------------------- constructor

static napi_value socket_new(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], self;
  NAPI_OK_OR_RETURN(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL), NULL);
  napi_value target;
  NAPI_OK_OR_RETURN(env, napi_get_new_target(env, info, &target), NULL);
  if (target == NULL) {
    napi_throw_type_error(env, NULL, "afpacket: Socket must be called with new");
    return NULL;
  }
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "afpacket: new Socket(ifname, ethertype, filter, callback?)");
    return NULL;
  }

  char ifname[64];
  size_t ifname_len = 0;
  napi_valuetype t;
  NAPI_OK_OR_RETURN(env, napi_typeof(env, argv[0], &t), NULL);
  if (t != napi_string) {
    napi_throw_type_error(env, NULL, "afpacket: the interface name must be a string");
    return NULL;
  }
  NAPI_OK_OR_RETURN(env, napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &ifname_len), NULL);
  if (ifname_len == 0 || ifname_len >= IF_NAMESIZE || strlen(ifname) != ifname_len) {
    char msg[160];
    snprintf(msg, sizeof msg, "afpacket: interface name \"%s\" must be 1 to %d bytes without NUL", ifname, IF_NAMESIZE - 1);
    napi_throw_range_error(env, NULL, msg);
    return NULL;
  }

  uint32_t ethertype = 0, filter = 0;
  if (napi_get_value_uint32(env, argv[1], &ethertype) != napi_ok || ethertype > 0xffff) {
    napi_throw_range_error(env, NULL, "afpacket: ethertype must be an integer 0..0xffff (0 = send only)");
    return NULL;
  }
  if (napi_get_value_uint32(env, argv[2], &filter) != napi_ok || filter > FILTER_ICMP6_NS) {
    napi_throw_range_error(env, NULL, "afpacket: filter must be 0 (none), 1 (ARP requests) or 2 (ICMPv6 neighbor solicitations)");
    return NULL;
  }
  int has_callback = 0;
  if (argc >= 4) {
    NAPI_OK_OR_RETURN(env, napi_typeof(env, argv[3], &t), NULL);
    if (t == napi_function) has_callback = 1;
    else if (t != napi_undefined && t != napi_null) {
      napi_throw_type_error(env, NULL, "afpacket: callback must be a function");
      return NULL;
    }
  }
  if (has_callback && ethertype == 0) {
    napi_throw_range_error(env, NULL, "afpacket: a receiving socket needs an ethertype (0 only receives nothing)");
    return NULL;
  }

  // Protocol 0: nothing is queued before bind(), so the filter is in place for the first frame.
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int e = errno;
    throw_errno(env, e, "socket(AF_PACKET, SOCK_RAW)", ifname, e == EPERM ? "raw sockets need CAP_NET_RAW (run as root)" : NULL);
    return NULL;
  }

  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, ifname, ifname_len);
  if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
    int e = errno;
    close(fd);
    throw_errno(env, e, "ioctl(SIOCGIFINDEX)", ifname, e == ENODEV ? "no such interface in this network namespace" : NULL);
    return NULL;
  }
  int ifindex = ifr.ifr_ifindex;
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
    int e = errno;
    close(fd);
    throw_errno(env, e, "ioctl(SIOCGIFHWADDR)", ifname, NULL);
    return NULL;
  }
  if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
    close(fd);
    char hint[96];
    snprintf(hint, sizeof hint, "hardware type %d is not Ethernet (ARPHRD_ETHER)", ifr.ifr_hwaddr.sa_family);
    throw_errno(env, EPROTONOSUPPORT, "open", ifname, hint);
    return NULL;
  }
  unsigned char mac[6];
  memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);

  if (filter != FILTER_NONE) {
    struct sock_fprog prog;
    if (filter == FILTER_ARP_REQUEST) {
      prog.len = sizeof arp_request_filter / sizeof arp_request_filter[0];
      prog.filter = arp_request_filter;
    } else {
      prog.len = sizeof icmp6_ns_filter / sizeof icmp6_ns_filter[0];
      prog.filter = icmp6_ns_filter;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0) {
      int e = errno;
      close(fd);
      throw_errno(env, e, "setsockopt(SO_ATTACH_FILTER)", ifname, NULL);
      return NULL;
    }
  }
  // Our own transmissions are never wanted (Linux >= 4.20; older kernels: pkttype check).
  int one = 1;
  (void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);

  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons((uint16_t)ethertype);
  sll.sll_ifindex = ifindex;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    int e = errno;
    close(fd);
    throw_errno(env, e, "bind(AF_PACKET)", ifname, NULL);
    return NULL;
  }

  afp_socket *s = (afp_socket *)calloc(1, sizeof *s);
  unsigned char *rx = has_callback ? (unsigned char *)malloc(RX_BUFFER_SIZE) : NULL;
  if (!s || (has_callback && !rx)) {
    free(s);
    free(rx);
    close(fd);
    napi_throw_error(env, "ENOMEM", "afpacket: out of memory");
    return NULL;
  }
  s->env = env;
  s->fd = fd;
  s->ifindex = ifindex;
  memcpy(s->mac, mac, 6);
  memcpy(s->ifname, ifname, ifname_len + 1);
  s->rx = rx;
  s->handle_closed = 1;  // until a uv handle exists

  if (napi_wrap(env, self, s, finalize_socket, NULL, NULL) != napi_ok) {
    close(fd);
    free(rx);
    free(s);
    napi_throw_error(env, NULL, "afpacket: napi_wrap failed");
    return NULL;
  }
  // From here on the finalizer owns `s`.

  napi_value ifindex_v, mac_v, name_v;
  void *macp;
  if (napi_create_int32(env, ifindex, &ifindex_v) != napi_ok ||
      napi_create_buffer_copy(env, 6, mac, &macp, &mac_v) != napi_ok ||
      napi_create_string_utf8(env, ifname, NAPI_AUTO_LENGTH, &name_v) != napi_ok ||
      napi_set_named_property(env, self, "ifindex", ifindex_v) != napi_ok ||
      napi_set_named_property(env, self, "mac", mac_v) != napi_ok ||
      napi_set_named_property(env, self, "ifname", name_v) != napi_ok) {
    stop_io(s);
    napi_throw_error(env, NULL, "afpacket: could not set socket properties");
    return NULL;
  }

  if (has_callback) {
    uv_loop_t *loop;
    napi_value resource_name;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok ||
        napi_create_reference(env, argv[3], 1, &s->callback_ref) != napi_ok ||
        napi_create_reference(env, self, 1, &s->self_ref) != napi_ok ||
        napi_create_string_utf8(env, "afpacket", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
        napi_async_init(env, self, resource_name, &s->async_ctx) != napi_ok) {
      stop_io(s);
      release_js_refs(s);
      napi_throw_error(env, NULL, "afpacket: could not set up the receive callback");
      return NULL;
    }
    int rc = uv_poll_init_socket(loop, &s->poll, fd);
    if (rc == 0) {
      s->poll.data = s;
      s->polling = 1;
      s->handle_closed = 0;
      rc = uv_poll_start(&s->poll, UV_READABLE, on_readable);
    }
    if (rc != 0) {
      stop_io(s);
      release_js_refs(s);
      throw_errno(env, -rc, "uv_poll_start", ifname, NULL);
      return NULL;
    }
  }
  if (napi_add_env_cleanup_hook(env, env_cleanup, s) != napi_ok) {
    stop_io(s);
    release_js_refs(s);
    napi_throw_error(env, NULL, "afpacket: napi_add_env_cleanup_hook failed");
    return NULL;
  }
  return self;
}

// ---------------------------------------------------------------- module

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"send", NULL, socket_send, NULL, NULL, NULL, napi_default_method, NULL},
      {"addMembership", NULL, socket_add_membership, NULL, NULL, NULL, napi_default_method, NULL},
      {"dropMembership", NULL, socket_drop_membership, NULL, NULL, NULL, napi_default_method, NULL},
      {"close", NULL, socket_close, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value cls;
  NAPI_OK_OR_RETURN(env, napi_define_class(env, "Socket", NAPI_AUTO_LENGTH, socket_new, NULL,
                                           sizeof methods / sizeof methods[0], methods, &cls), NULL);
  NAPI_OK_OR_RETURN(env, napi_set_named_property(env, exports, "Socket", cls), NULL);

  napi_value v;
  const struct { const char *name; int value; } consts[] = {
      {"FILTER_NONE", FILTER_NONE},
      {"FILTER_ARP_REQUEST", FILTER_ARP_REQUEST},
      {"FILTER_ICMP6_NEIGHBOR_SOLICITATION", FILTER_ICMP6_NS},
      {"PACKET_HOST", PACKET_HOST},
      {"PACKET_BROADCAST", PACKET_BROADCAST},
      {"PACKET_MULTICAST", PACKET_MULTICAST},
      {"PACKET_OTHERHOST", PACKET_OTHERHOST},
      {"PACKET_OUTGOING", PACKET_OUTGOING},
  };
  for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++) {
    NAPI_OK_OR_RETURN(env, napi_create_int32(env, consts[i].value, &v), NULL);
    NAPI_OK_OR_RETURN(env, napi_set_named_property(env, exports, consts[i].name, v), NULL);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
