// tcpsock: TCP socket options Node's net module does not expose, in plain N-API C.
//
// BGP needs three of them (RFC 2385 TCP MD5 signatures, the IP TTL for eBGP single-hop and
// multihop, IP_MINTTL for GTSM / RFC 5082). The MD5 key must be on the socket before the SYN
// leaves, so outgoing sessions use a socket made here (createTcpSocket), configured, then
// adopted by Node (`new net.Socket({ fd })`) which binds and connects it.
//
// JS surface (wrapped by src/net/tcpOptions.ts); every function takes a numeric fd:
//   createTcpSocket(family 4|6, netnsPath?) -> fd   non-blocking, close-on-exec, SOCK_STREAM;
//                                          with netnsPath (e.g. /run/netns/x) the socket lives in
//                                          that network namespace (setns on this thread and back)
//   bindAddress(fd, address, port)         bind() (for a listening fd handed to net.Server)
//   closeFd(fd)                            for an fd never handed to Node
//   socketFamily(fd) -> 4|6                SO_DOMAIN
//   setMd5Sig(fd, peerAddress, key, prefixLength?)  key: string|Buffer (<= 80 bytes); empty removes
//   setTtl(fd, ttl) / getTtl(fd)           IP_TTL or IPV6_UNICAST_HOPS (1..255)
//   setMinTtl(fd, ttl) / getMinTtl(fd)     IP_MINTTL or IPV6_MINHOPCOUNT (0 disables, 1..255)
//
// Nothing here may abort the process: bad arguments and failed syscalls become JS exceptions
// with .code (errno name), .errno and .syscall set.
#define _GNU_SOURCE
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include "napi_errno.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IP_MINTTL
#define IP_MINTTL 21
#endif
#ifndef IPV6_MINHOPCOUNT
#define IPV6_MINHOPCOUNT 73
#endif
#ifndef TCP_MD5SIG_EXT
#define TCP_MD5SIG_EXT 32
#endif
#ifndef TCP_MD5SIG_FLAG_PREFIX
#define TCP_MD5SIG_FLAG_PREFIX 0x1
#endif

// Throws Error("tcpsock: <what> failed: <strerror> (<ENAME>)") with .code, .errno, .syscall.
static void throw_errno(napi_env env, int err, const char *syscall, const char *what) {
  char msg[512];
  snprintf(msg, sizeof msg, "tcpsock: %s failed: %s (%s)", what, strerror(err), errno_name(err));
  napi_value error = errno_error(env, err, syscall, msg);
  if (error) napi_throw(env, error);
}

static void throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG", msg);
}

// Reads up to `want` arguments; returns the number passed, or -1 (exception pending).
static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "tcpsock: napi_get_cb_info failed");
    return -1;
  }
  for (size_t i = argc; i < want; i++) napi_get_undefined(env, &argv[i]);
  return (int)argc;
}

static int get_int(napi_env env, napi_value v, const char *name, int min, int max, int *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) {
    char msg[128];
    snprintf(msg, sizeof msg, "tcpsock: %s must be a number", name);
    throw_type(env, msg);
    return -1;
  }
  double d;
  napi_get_value_double(env, v, &d);
  if (d != (double)(long long)d || d < min || d > max) {
    char msg[160];
    snprintf(msg, sizeof msg, "tcpsock: %s must be an integer in %d..%d (got %g)", name, min, max, d);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return -1;
  }
  *out = (int)d;
  return 0;
}

static int get_fd(napi_env env, napi_value v, int *fd) { return get_int(env, v, "fd", 0, 0x7fffffff, fd); }

static napi_value make_int(napi_env env, int v) {
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

static napi_value undefined(napi_env env) {
  napi_value out;
  napi_get_undefined(env, &out);
  return out;
}

// Address family of the socket behind fd (AF_INET / AF_INET6), or -1 with an exception.
static int fd_family(napi_env env, int fd, const char *what) {
  int domain = 0;
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) {
    throw_errno(env, errno, "getsockopt", what);
    return -1;
  }
  if (domain != AF_INET && domain != AF_INET6) {
    char msg[160];
    snprintf(msg, sizeof msg, "tcpsock: %s: fd %d is not an IPv4 or IPv6 socket (domain %d)", what, fd, domain);
    napi_throw_error(env, "EAFNOSUPPORT", msg);
    return -1;
  }
  return domain;
}

// ---------------------------------------------------------------- sockets

// socket() inside the network namespace at ns_path: switch this thread there and back. Only this
// thread is affected, and only for the socket() call; the socket stays in that namespace.
static int socket_in_netns(napi_env env, int domain, const char *ns_path) {
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) {
    throw_errno(env, errno, "open", "open(/proc/thread-self/ns/net)");
    return -1;
  }
  int target = open(ns_path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int e = errno;
    close(self);
    char what[600];
    snprintf(what, sizeof what, "open(%s) (the network namespace)", ns_path);
    throw_errno(env, e, "open", what);
    return -1;
  }
  if (setns(target, CLONE_NEWNET) != 0) {
    int e = errno;
    close(self);
    close(target);
    char what[600];
    snprintf(what, sizeof what, "setns(%s, CLONE_NEWNET) (needs CAP_SYS_ADMIN)", ns_path);
    throw_errno(env, e, "setns", what);
    return -1;
  }
  int fd = socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  int socket_errno = errno;
  if (setns(self, CLONE_NEWNET) != 0) {
    // The main thread would stay in the wrong namespace: every later socket would be wrong.
    fprintf(stderr, "tcpsock: FATAL: cannot return to the original network namespace: %s\n", strerror(errno));
    abort();
  }
  close(self);
  close(target);
  if (fd < 0) {
    throw_errno(env, socket_errno, "socket", "socket(SOCK_STREAM) in a network namespace");
    return -1;
  }
  return fd;
}

static napi_value create_tcp_socket(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv) < 0) return NULL;
  int family;
  if (get_int(env, argv[0], "family", 4, 6, &family) < 0) return NULL;
  if (family != 4 && family != 6) {
    throw_type(env, "tcpsock: family must be 4 or 6");
    return NULL;
  }
  int domain = family == 4 ? AF_INET : AF_INET6;
  napi_valuetype nt;
  napi_typeof(env, argv[1], &nt);
  if (nt == napi_string) {
    char path[512];
    size_t plen = 0;
    napi_get_value_string_utf8(env, argv[1], path, sizeof path, &plen);
    if (plen == 0 || plen >= sizeof path - 1) {
      throw_type(env, "tcpsock: createTcpSocket netnsPath must be a non-empty path");
      return NULL;
    }
    int fd = socket_in_netns(env, domain, path);
    return fd < 0 ? NULL : make_int(env, fd);
  }
  if (nt != napi_undefined && nt != napi_null) {
    throw_type(env, "tcpsock: createTcpSocket netnsPath must be a string");
    return NULL;
  }
  int fd = socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) {
    throw_errno(env, errno, "socket", family == 4 ? "socket(AF_INET, SOCK_STREAM)" : "socket(AF_INET6, SOCK_STREAM)");
    return NULL;
  }
  return make_int(env, fd);
}

static napi_value bind_address(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd, port;
  if (get_args(env, info, 3, argv) < 0 || get_fd(env, argv[0], &fd) < 0) return NULL;
  char addr[INET6_ADDRSTRLEN + 1];
  size_t alen = 0;
  if (napi_get_value_string_utf8(env, argv[1], addr, sizeof addr, &alen) != napi_ok) {
    throw_type(env, "tcpsock: bindAddress address must be an IP address string");
    return NULL;
  }
  if (get_int(env, argv[2], "port", 0, 65535, &port) < 0) return NULL;
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t sl;
  struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    sl = sizeof *sin;
  } else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    sl = sizeof *sin6;
  } else {
    char msg[200];
    snprintf(msg, sizeof msg, "tcpsock: bindAddress \"%s\" is not an IPv4 or IPv6 address", addr);
    throw_type(env, msg);
    return NULL;
  }
  int one = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
    char what[200];
    snprintf(what, sizeof what, "bind(fd %d, %s port %d)", fd, addr, port);
    throw_errno(env, errno, "bind", what);
    return NULL;
  }
  return undefined(env);
}

static napi_value close_fd(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (get_args(env, info, 1, argv) < 0 || get_fd(env, argv[0], &fd) < 0) return NULL;
  if (close(fd) != 0 && errno != EINTR) {
    throw_errno(env, errno, "close", "close(fd)");
    return NULL;
  }
  return undefined(env);
}

static napi_value socket_family(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (get_args(env, info, 1, argv) < 0 || get_fd(env, argv[0], &fd) < 0) return NULL;
  int f = fd_family(env, fd, "socketFamily");
  if (f < 0) return NULL;
  return make_int(env, f == AF_INET ? 4 : 6);
}

// ---------------------------------------------------------------- TCP MD5 (RFC 2385)

static napi_value set_md5_sig(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int argc = get_args(env, info, 4, argv);
  int fd;
  if (argc < 0 || get_fd(env, argv[0], &fd) < 0) return NULL;

  char addr[INET6_ADDRSTRLEN + 1];
  size_t alen = 0;
  if (napi_get_value_string_utf8(env, argv[1], addr, sizeof addr, &alen) != napi_ok) {
    throw_type(env, "tcpsock: setMd5Sig peerAddress must be an IP address string");
    return NULL;
  }

  struct tcp_md5sig sig;
  memset(&sig, 0, sizeof sig);
  // key: a string (UTF-8 bytes) or a Buffer.
  napi_valuetype kt;
  napi_typeof(env, argv[2], &kt);
  bool is_buffer = false;
  napi_is_buffer(env, argv[2], &is_buffer);
  if (kt == napi_string) {
    size_t klen = 0;
    napi_get_value_string_utf8(env, argv[2], NULL, 0, &klen);
    if (klen > TCP_MD5SIG_MAXKEYLEN) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "tcpsock: setMd5Sig key is longer than 80 bytes (TCP_MD5SIG_MAXKEYLEN)");
      return NULL;
    }
    char kbuf[TCP_MD5SIG_MAXKEYLEN + 1];
    napi_get_value_string_utf8(env, argv[2], kbuf, sizeof kbuf, &klen);
    memcpy(sig.tcpm_key, kbuf, klen);
    sig.tcpm_keylen = (unsigned short)klen;
  } else if (is_buffer) {
    void *data;
    size_t klen;
    napi_get_buffer_info(env, argv[2], &data, &klen);
    if (klen > TCP_MD5SIG_MAXKEYLEN) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "tcpsock: setMd5Sig key is longer than 80 bytes (TCP_MD5SIG_MAXKEYLEN)");
      return NULL;
    }
    memcpy(sig.tcpm_key, data, klen);
    sig.tcpm_keylen = (unsigned short)klen;
  } else {
    throw_type(env, "tcpsock: setMd5Sig key must be a string or a Buffer");
    return NULL;
  }

  int prefix = -1;
  napi_valuetype pt;
  napi_typeof(env, argv[3], &pt);
  if (pt != napi_undefined && pt != napi_null && get_int(env, argv[3], "prefixLength", 0, 128, &prefix) < 0) return NULL;

  int family = fd_family(env, fd, "setMd5Sig");
  if (family < 0) return NULL;

  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, addr, &a4) == 1) {
    if (family == AF_INET) {
      struct sockaddr_in *sin = (struct sockaddr_in *)&sig.tcpm_addr;
      sin->sin_family = AF_INET;
      sin->sin_addr = a4;
      if (prefix > 32) {
        napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "tcpsock: setMd5Sig prefixLength for an IPv4 peer must be 0..32");
        return NULL;
      }
    } else {
      // A dual-stack IPv6 socket sees IPv4 peers as ::ffff:a.b.c.d; the kernel then keys them as IPv4.
      struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&sig.tcpm_addr;
      sin6->sin6_family = AF_INET6;
      memset(&sin6->sin6_addr, 0, 10);
      sin6->sin6_addr.s6_addr[10] = 0xff;
      sin6->sin6_addr.s6_addr[11] = 0xff;
      memcpy(&sin6->sin6_addr.s6_addr[12], &a4, 4);
      if (prefix >= 0) {
        if (prefix > 32) {
          napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "tcpsock: setMd5Sig prefixLength for an IPv4 peer must be 0..32");
          return NULL;
        }
        prefix += 96;
      }
    }
  } else if (inet_pton(AF_INET6, addr, &a6) == 1) {
    if (family == AF_INET) {
      char msg[200];
      snprintf(msg, sizeof msg, "tcpsock: setMd5Sig: peer %s is IPv6 but fd %d is an IPv4 socket; use an IPv6 socket", addr, fd);
      napi_throw_error(env, "EAFNOSUPPORT", msg);
      return NULL;
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&sig.tcpm_addr;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = a6;
  } else {
    char msg[200];
    snprintf(msg, sizeof msg, "tcpsock: setMd5Sig peerAddress \"%s\" is not an IPv4 or IPv6 address", addr);
    throw_type(env, msg);
    return NULL;
  }

  int opt = TCP_MD5SIG;
  if (prefix >= 0) {
    opt = TCP_MD5SIG_EXT;
    sig.tcpm_flags = TCP_MD5SIG_FLAG_PREFIX;
    sig.tcpm_prefixlen = (unsigned char)prefix;
  }
  if (setsockopt(fd, IPPROTO_TCP, opt, &sig, sizeof sig) != 0) {
    int e = errno;
    char what[256];
    snprintf(what, sizeof what, "setsockopt(%s) on fd %d for peer %s (%s key)", opt == TCP_MD5SIG ? "TCP_MD5SIG" : "TCP_MD5SIG_EXT",
             fd, addr, sig.tcpm_keylen ? "set" : "remove");
    // Removing a key that was never set answers ENOENT: nothing to remove, not an error.
    if (e == ENOENT && sig.tcpm_keylen == 0) return undefined(env);
    throw_errno(env, e, "setsockopt", what);
    return NULL;
  }
  return undefined(env);
}

// ---------------------------------------------------------------- TTL / GTSM

static napi_value ttl_option(napi_env env, napi_callback_info info, bool set, bool min) {
  napi_value argv[2];
  int fd;
  if (get_args(env, info, 2, argv) < 0 || get_fd(env, argv[0], &fd) < 0) return NULL;
  int value = 0;
  if (set && get_int(env, argv[1], min ? "minimum TTL" : "ttl", min ? 0 : 1, 255, &value) < 0) return NULL;
  int family = fd_family(env, fd, min ? "minimum TTL" : "TTL");
  if (family < 0) return NULL;
  int level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
  int opt;
  const char *name;
  if (family == AF_INET) {
    opt = min ? IP_MINTTL : IP_TTL;
    name = min ? "IP_MINTTL" : "IP_TTL";
  } else {
    opt = min ? IPV6_MINHOPCOUNT : IPV6_UNICAST_HOPS;
    name = min ? "IPV6_MINHOPCOUNT" : "IPV6_UNICAST_HOPS";
  }
  char what[128];
  snprintf(what, sizeof what, "%ssockopt(%s) on fd %d", set ? "set" : "get", name, fd);
  if (set) {
    if (setsockopt(fd, level, opt, &value, sizeof value) != 0) {
      throw_errno(env, errno, "setsockopt", what);
      return NULL;
    }
    // A dual-stack IPv6 socket talking to an IPv4 peer uses the IPv4 options; set both.
    if (family == AF_INET6) {
      int v4opt = min ? IP_MINTTL : IP_TTL;
      (void)setsockopt(fd, IPPROTO_IP, v4opt, &value, sizeof value);
    }
    return undefined(env);
  }
  socklen_t len = sizeof value;
  if (getsockopt(fd, level, opt, &value, &len) != 0) {
    throw_errno(env, errno, "getsockopt", what);
    return NULL;
  }
  return make_int(env, value);
}

static napi_value set_ttl(napi_env env, napi_callback_info info) { return ttl_option(env, info, true, false); }
static napi_value get_ttl(napi_env env, napi_callback_info info) { return ttl_option(env, info, false, false); }
static napi_value set_min_ttl(napi_env env, napi_callback_info info) { return ttl_option(env, info, true, true); }
static napi_value get_min_ttl(napi_env env, napi_callback_info info) { return ttl_option(env, info, false, true); }

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"createTcpSocket", NULL, create_tcp_socket, NULL, NULL, NULL, napi_enumerable, NULL},
    {"bindAddress", NULL, bind_address, NULL, NULL, NULL, napi_enumerable, NULL},
    {"closeFd", NULL, close_fd, NULL, NULL, NULL, napi_enumerable, NULL},
    {"socketFamily", NULL, socket_family, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setMd5Sig", NULL, set_md5_sig, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setTtl", NULL, set_ttl, NULL, NULL, NULL, napi_enumerable, NULL},
    {"getTtl", NULL, get_ttl, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setMinTtl", NULL, set_min_ttl, NULL, NULL, NULL, napi_enumerable, NULL},
    {"getMinTtl", NULL, get_min_ttl, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
