// udp_batch: a UDP receiver that reads datagrams in batches with recvmmsg(2) (Linux) and
// hands each batch to JavaScript in ONE call, instead of one callback and one Buffer per
// datagram as node:dgram does. It runs on the main libuv loop (a uv_poll watcher on the
// socket), so there are no threads and no locking.
//
// JavaScript API (Node-API, ABI-stable across Node versions):
//
//   open(host, port, ipv6, receiveBufferBytes, slotBytes, batch, onBatch) -> handle
//     Creates, configures and binds the socket and starts reading. Throws an Error whose
//     `code` is the errno name (EADDRINUSE, EACCES, ...) on failure.
//     onBatch(count, hosts) is called for every batch read; datagram i (0 <= i < count)
//     is handle.data[i * slotBytes, i * slotBytes + handle.meta[2 * i]); bit 0 of
//     handle.meta[2 * i + 1] says the datagram was truncated to slotBytes, the rest
//     (>> 1) is an index into `hosts`, the sender addresses seen so far, in text form.
//     `data` and `meta` are reused by the next batch: consume them synchronously.
//   handle.port, handle.receiveBufferBytes (as getsockopt(SO_RCVBUF) reports it)
//   openUnix(path, mode, receiveBufferBytes, slotBytes, batch, passcred, onBatch) -> handle
//     The same for a Unix domain datagram socket bound at `path` (AF_UNIX, SOCK_DGRAM):
//     the file is created with permissions `mode` (the umask is set for the bind, then the
//     mode applied); a socket file nobody listens on any more (a stale one: connect(2)
//     gets ECONNREFUSED) is replaced, any other existing file is an error (EADDRINUSE for a
//     live socket, EEXIST otherwise). With `passcred`, SO_PASSCRED is on and the sender's
//     pid takes the place of the host index in meta (pid << 1 | truncated); `hosts` stays
//     empty. The caller removes the file after close.
//   close(handle, done): stops reading, closes the socket and then calls done(), once the
//     port is free. A second close only calls done().
//   trimMemory() -> boolean
//     Not about sockets: gives the pages that malloc holds free back to the system
//     (glibc's malloc_trim(0), every arena, free pages inside the heap too). True when
//     memory was released; false where the C library has no malloc_trim. The daemon
//     calls it after a flush, at most every 10 s (src/daemon/memory-trim.ts).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <node_api.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <uv.h>

// Distinct sender addresses remembered; the table starts over (with a new `hosts` array)
// before a batch that could overflow it, so indices within one batch always stay valid.
#define MAX_HOSTS 256
// Batches read per readiness callback before yielding to the loop (timers, flushes).
#define MAX_BATCHES_PER_WAKEUP 16

typedef struct {
  int fd;
  int closed;
  napi_env env;
  uv_poll_t poll;
  napi_ref on_batch;
  napi_ref self;   // the handle object, kept alive while open
  napi_ref hosts;  // JS array of sender address strings
  napi_ref on_closed;
  napi_async_context async_ctx;
  uint32_t slot;
  uint32_t batch;
  uint8_t *data;
  int32_t *meta;
  struct mmsghdr *msgs;
  struct iovec *iovs;
  struct sockaddr_storage *names;
  struct sockaddr_storage *host_addr;  // MAX_HOSTS + batch entries
  uint32_t host_count;
  uint32_t last_host;
  int is_unix;      // AF_UNIX: no sender addresses
  int passcred;     // SO_PASSCRED: the sender's pid per datagram
  uint8_t *control; // per-datagram ancillary data buffers (passcred)
  // Removed once closed; run if the environment ends first (a worker thread terminated).
  napi_async_cleanup_hook_handle cleanup;
  int tearing_down;  // the environment is ending: no more calls into JavaScript
} receiver_t;

#define CONTROL_BYTES CMSG_SPACE(sizeof(struct ucred))

static const char *errno_code(int e) {
  switch (e) {
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EACCES: return "EACCES";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOBUFS: return "ENOBUFS";
    case EPERM: return "EPERM";
    case EEXIST: return "EEXIST";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR";
    default: return "EIO";
  }
}

static napi_value throw_errno(napi_env env, const char *what, int e) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(e));
  napi_throw_error(env, errno_code(e), msg);
  return NULL;
}

#define CHECK(env, call)                                              \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error((env), "ERR_NATIVE", "Node-API call failed");  \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static int same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  if (a->ss_family != b->ss_family) return 0;
  if (a->ss_family == AF_INET)
    return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
  if (a->ss_family == AF_INET6)
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
  return 1;  // unknown family: treat as one sender
}

// Index of the sender of `name` in r->hosts, adding it (and its text form) when new.
static uint32_t host_index(receiver_t *r, const struct sockaddr_storage *name, napi_value hosts) {
  if (r->host_count > 0 && same_ip(&r->host_addr[r->last_host], name)) return r->last_host;
  for (uint32_t i = 0; i < r->host_count; i++) {
    if (same_ip(&r->host_addr[i], name)) {
      r->last_host = i;
      return i;
    }
  }
  uint32_t i = r->host_count++;
  r->host_addr[i] = *name;
  char text[INET6_ADDRSTRLEN] = "";
  if (name->ss_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)name)->sin_addr, text, sizeof text);
  else if (name->ss_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)name)->sin6_addr, text, sizeof text);
  napi_value s;
  if (napi_create_string_latin1(r->env, text, NAPI_AUTO_LENGTH, &s) == napi_ok) napi_set_element(r->env, hosts, i, s);
  r->last_host = i;
  return i;
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  receiver_t *r = (receiver_t *)handle->data;
  (void)events;
  if (r->closed || status < 0) return;
  napi_env env = r->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, hosts, self;
  napi_get_reference_value(env, r->on_batch, &cb);
  napi_get_reference_value(env, r->hosts, &hosts);
  napi_get_reference_value(env, r->self, &self);
  for (int round = 0; round < MAX_BATCHES_PER_WAKEUP && !r->closed; round++) {
    if (r->host_count > MAX_HOSTS) {
      // Many distinct senders (unusual for a sidecar): start the table over.
      napi_value fresh;
      if (napi_create_array(env, &fresh) != napi_ok) break;
      napi_delete_reference(env, r->hosts);
      if (napi_create_reference(env, fresh, 1, &r->hosts) != napi_ok) break;
      hosts = fresh;
      r->host_count = 0;
      r->last_host = 0;
    }
    for (uint32_t i = 0; i < r->batch; i++) {
      r->msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
      r->msgs[i].msg_hdr.msg_flags = 0;
      if (r->passcred) r->msgs[i].msg_hdr.msg_controllen = CONTROL_BYTES;
    }
    int n = recvmmsg(r->fd, r->msgs, r->batch, MSG_DONTWAIT, NULL);
    if (n <= 0) break;  // EAGAIN (drained) or a transient error: wait for the next wakeup
    for (int i = 0; i < n; i++) {
      uint32_t len = r->msgs[i].msg_len;
      int truncated = (r->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
      if (len > r->slot) len = r->slot;
      r->meta[2 * i] = (int32_t)len;
      uint32_t who = 0;
      if (r->passcred) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&r->msgs[i].msg_hdr); c != NULL; c = CMSG_NXTHDR(&r->msgs[i].msg_hdr, c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred cred;
            memcpy(&cred, CMSG_DATA(c), sizeof cred);
            who = (uint32_t)cred.pid;
          }
        }
      } else if (!r->is_unix) {
        who = host_index(r, &r->names[i], hosts);
      }
      r->meta[2 * i + 1] = (int32_t)((who << 1) | (truncated ? 1 : 0));
    }
    napi_value argv[2], result;
    napi_create_uint32(env, (uint32_t)n, &argv[0]);
    argv[1] = hosts;
    napi_status st = napi_make_callback(env, r->async_ctx, self, cb, 2, argv, &result);
    if (st == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
      break;
    }
    if ((uint32_t)n < r->batch) break;  // the socket is drained
  }
  napi_close_handle_scope(env, scope);
}

static void on_poll_closed(uv_handle_t *handle) {
  receiver_t *r = (receiver_t *)handle->data;
  close(r->fd);
  r->fd = -1;
  free(r->msgs);
  free(r->iovs);
  free(r->names);
  free(r->host_addr);
  free(r->control);
  r->msgs = NULL;
  r->iovs = NULL;
  r->names = NULL;
  r->host_addr = NULL;
  r->control = NULL;
  // data and meta belong to their ArrayBuffers (freed by their finalizers); r itself is
  // freed by the handle object's finalizer.
  napi_async_cleanup_hook_handle cleanup = r->cleanup;
  r->cleanup = NULL;
  if (r->tearing_down) {
    // The environment is ending: its references go with it; only say the handle is closed.
    if (cleanup != NULL) napi_remove_async_cleanup_hook(cleanup);
    return;
  }
  if (cleanup != NULL) napi_remove_async_cleanup_hook(cleanup);
  napi_env env = r->env;
  napi_handle_scope scope;
  if (r->on_closed != NULL && napi_open_handle_scope(env, &scope) == napi_ok) {
    napi_value cb, global, result;
    if (napi_get_reference_value(env, r->on_closed, &cb) == napi_ok && napi_get_global(env, &global) == napi_ok &&
        napi_make_callback(env, NULL, global, cb, 0, NULL, &result) == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
    napi_close_handle_scope(env, scope);
  }
  if (r->on_closed != NULL) napi_delete_reference(env, r->on_closed);
  r->on_closed = NULL;
  if (r->self != NULL) {
    napi_delete_reference(env, r->self);
    r->self = NULL;
  }
}

static void stop_receiver(receiver_t *r) {
  if (r->closed) return;
  r->closed = 1;
  uv_poll_stop(&r->poll);
  napi_delete_reference(r->env, r->on_batch);
  napi_delete_reference(r->env, r->hosts);
  napi_async_destroy(r->env, r->async_ctx);
  uv_close((uv_handle_t *)&r->poll, on_poll_closed);
}

// The environment ends with the socket open (a worker thread terminated, or exiting
// without close): stop reading and close the handle, so that the loop can close.
static void on_env_teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  receiver_t *r = (receiver_t *)arg;
  r->tearing_down = 1;
  if (r->closed) return;  // a close is under way: on_poll_closed removes the hook
  r->closed = 1;
  uv_poll_stop(&r->poll);
  uv_close((uv_handle_t *)&r->poll, on_poll_closed);
}

static void finalize_receiver(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  receiver_t *r = (receiver_t *)data;
  // Reached only once closed: an open receiver is kept alive by its own reference.
  free(r);
}

static void finalize_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

// Undoes a half-done open: closes the socket and frees whatever was allocated.
static void discard(int fd, receiver_t *r, uint8_t *data, int32_t *meta) {
  close(fd);
  if (r != NULL) {
    free(r->msgs);
    free(r->iovs);
    free(r->names);
    free(r->host_addr);
    free(r->control);
  }
  free(r);
  free(data);
  free(meta);
}

// Sets up reading on a bound socket `fd` (closed on failure) and returns the handle.
static napi_value start_receiver(napi_env env, int fd, uint32_t bound_port, uint32_t slot, uint32_t batch,
                                 int is_unix, int passcred, napi_value on_batch) {
  int effective = 0;
  socklen_t optlen = sizeof effective;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &effective, &optlen);

  receiver_t *r = calloc(1, sizeof *r);
  uint8_t *data = malloc((size_t)slot * batch);
  int32_t *meta = calloc(2 * (size_t)batch, sizeof(int32_t));
  if (r != NULL) {
    r->msgs = calloc(batch, sizeof *r->msgs);
    r->iovs = calloc(batch, sizeof *r->iovs);
    r->names = calloc(batch, sizeof *r->names);
    r->host_addr = calloc(MAX_HOSTS + batch, sizeof *r->host_addr);
    r->control = passcred ? calloc(batch, CONTROL_BYTES) : NULL;
  }
  if (r == NULL || data == NULL || meta == NULL || r->msgs == NULL || r->iovs == NULL || r->names == NULL ||
      r->host_addr == NULL || (passcred && r->control == NULL)) {
    discard(fd, r, data, meta);
    return throw_errno(env, "allocating receive buffers", ENOMEM);
  }
  r->fd = fd;
  r->env = env;
  r->slot = slot;
  r->batch = batch;
  r->data = data;
  r->meta = meta;
  r->is_unix = is_unix;
  r->passcred = passcred;
  for (uint32_t i = 0; i < batch; i++) {
    r->iovs[i].iov_base = data + (size_t)i * slot;
    r->iovs[i].iov_len = slot;
    r->msgs[i].msg_hdr.msg_iov = &r->iovs[i];
    r->msgs[i].msg_hdr.msg_iovlen = 1;
    r->msgs[i].msg_hdr.msg_name = &r->names[i];
    if (passcred) {
      r->msgs[i].msg_hdr.msg_control = r->control + (size_t)i * CONTROL_BYTES;
      r->msgs[i].msg_hdr.msg_controllen = CONTROL_BYTES;
    }
  }

  uv_loop_t *loop;
  int rc = napi_get_uv_event_loop(env, &loop) == napi_ok ? uv_poll_init(loop, &r->poll, fd) : UV_EINVAL;
  if (rc != 0) {
    discard(fd, r, data, meta);
    return throw_errno(env, "uv_poll_init", -rc);
  }
  r->poll.data = r;

  napi_value obj, data_ab, data_buf, meta_ab, meta_arr, hosts, v, resource_name;
  CHECK(env, napi_create_object(env, &obj));
  CHECK(env, napi_create_external_arraybuffer(env, data, (size_t)slot * batch, finalize_free, NULL, &data_ab));
  CHECK(env, napi_create_typedarray(env, napi_uint8_array, (size_t)slot * batch, data_ab, 0, &data_buf));
  CHECK(env, napi_create_external_arraybuffer(env, meta, 2 * (size_t)batch * sizeof(int32_t), finalize_free, NULL,
                                              &meta_ab));
  CHECK(env, napi_create_typedarray(env, napi_int32_array, 2 * (size_t)batch, meta_ab, 0, &meta_arr));
  CHECK(env, napi_create_array(env, &hosts));
  CHECK(env, napi_set_named_property(env, obj, "data", data_buf));
  CHECK(env, napi_set_named_property(env, obj, "meta", meta_arr));
  CHECK(env, napi_create_uint32(env, bound_port, &v));
  CHECK(env, napi_set_named_property(env, obj, "port", v));
  CHECK(env, napi_create_int32(env, effective, &v));
  CHECK(env, napi_set_named_property(env, obj, "receiveBufferBytes", v));
  CHECK(env, napi_wrap(env, obj, r, finalize_receiver, NULL, NULL));
  CHECK(env, napi_create_reference(env, on_batch, 1, &r->on_batch));
  CHECK(env, napi_create_reference(env, hosts, 1, &r->hosts));
  CHECK(env, napi_create_reference(env, obj, 1, &r->self));
  CHECK(env, napi_create_string_utf8(env, "UDPBATCHRECEIVE", NAPI_AUTO_LENGTH, &resource_name));
  CHECK(env, napi_async_init(env, NULL, resource_name, &r->async_ctx));

  CHECK(env, napi_add_async_cleanup_hook(env, on_env_teardown, r, &r->cleanup));

  rc = uv_poll_start(&r->poll, UV_READABLE, on_readable);
  if (rc != 0) {
    stop_receiver(r);
    return throw_errno(env, "uv_poll_start", -rc);
  }
  return obj;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) {
    napi_throw_type_error(env, "ERR_NATIVE", "open(host, port, ipv6, rcvbuf, slot, batch, onBatch[, reusePort])");
    return NULL;
  }
  char host[INET6_ADDRSTRLEN + 1];
  size_t host_len;
  uint32_t port, rcvbuf, slot, batch;
  bool ipv6, reuse_port = false;
  CHECK(env, napi_get_value_string_latin1(env, argv[0], host, sizeof host, &host_len));
  if (argc >= 8) CHECK(env, napi_get_value_bool(env, argv[7], &reuse_port));
  CHECK(env, napi_get_value_uint32(env, argv[1], &port));
  CHECK(env, napi_get_value_bool(env, argv[2], &ipv6));
  CHECK(env, napi_get_value_uint32(env, argv[3], &rcvbuf));
  CHECK(env, napi_get_value_uint32(env, argv[4], &slot));
  CHECK(env, napi_get_value_uint32(env, argv[5], &batch));
  if (port > 65535 || slot == 0 || slot > 65536 || batch == 0 || batch > 1024) {
    napi_throw_range_error(env, "ERR_NATIVE", "port, slot or batch out of range");
    return NULL;
  }

  struct sockaddr_storage addr;
  socklen_t addr_len;
  memset(&addr, 0, sizeof addr);
  if (ipv6) {
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) return throw_errno(env, "invalid IPv6 address", EINVAL);
    addr_len = sizeof *a6;
  } else {
    struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) return throw_errno(env, "invalid IPv4 address", EINVAL);
    addr_len = sizeof *a4;
  }

  int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (ipv6) {
    int off = 0;  // dual-stack, as node:dgram with ipv6Only: false
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
  if (rcvbuf > 0) {
    int size = (int)rcvbuf;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  // Several sockets on one port (one per ingest worker): the kernel spreads senders over them.
  if (reuse_port) {
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
      int e = errno;
      close(fd);
      return throw_errno(env, "setsockopt(SO_REUSEPORT)", e);
    }
  }
  if (bind(fd, (struct sockaddr *)&addr, addr_len) != 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "bind", e);
  }
  struct sockaddr_storage bound;
  socklen_t bound_len = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &bound_len);
  uint32_t bound_port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                          : ((struct sockaddr_in *)&bound)->sin_port);
  return start_receiver(env, fd, bound_port, slot, batch, 0, 0, argv[6]);
}

// Whether a Unix datagram socket file at `addr` has a listener: connect(2) tells.
static int unix_socket_in_use(const struct sockaddr_un *addr) {
  int probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return 1;  // cannot tell: do not remove it
  int rc = connect(probe, (const struct sockaddr *)addr, sizeof *addr);
  int e = errno;
  close(probe);
  return rc == 0 || e != ECONNREFUSED;
}

static napi_value js_open_unix(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) {
    napi_throw_type_error(env, "ERR_NATIVE", "openUnix(path, mode, rcvbuf, slot, batch, passcred, onBatch)");
    return NULL;
  }
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  size_t path_len;
  uint32_t mode, rcvbuf, slot, batch;
  bool passcred;
  CHECK(env, napi_get_value_string_utf8(env, argv[0], NULL, 0, &path_len));
  if (path_len == 0 || path_len >= sizeof addr.sun_path) return throw_errno(env, "unix socket path", ENAMETOOLONG);
  CHECK(env, napi_get_value_string_utf8(env, argv[0], addr.sun_path, sizeof addr.sun_path, &path_len));
  CHECK(env, napi_get_value_uint32(env, argv[1], &mode));
  CHECK(env, napi_get_value_uint32(env, argv[2], &rcvbuf));
  CHECK(env, napi_get_value_uint32(env, argv[3], &slot));
  CHECK(env, napi_get_value_uint32(env, argv[4], &batch));
  CHECK(env, napi_get_value_bool(env, argv[5], &passcred));
  if (mode > 0777 || slot == 0 || slot > 65536 || batch == 0 || batch > 1024) {
    napi_throw_range_error(env, "ERR_NATIVE", "mode, slot or batch out of range");
    return NULL;
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (rcvbuf > 0) {
    int size = (int)rcvbuf;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  if (passcred) {
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
  }
  // The file is created with no more than `mode` allows (bind honours the umask).
  mode_t old = umask(0777 & ~mode);
  int rc = bind(fd, (struct sockaddr *)&addr, sizeof addr);
  int e = errno;
  if (rc != 0 && e == EADDRINUSE) {
    struct stat st;
    if (lstat(addr.sun_path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
      e = EEXIST;  // a file that is not a socket: never removed
    } else if (!unix_socket_in_use(&addr)) {
      unlink(addr.sun_path);  // stale: left by a process that died
      rc = bind(fd, (struct sockaddr *)&addr, sizeof addr);
      e = errno;
    }
  }
  umask(old);
  if (rc != 0) {
    close(fd);
    return throw_errno(env, "bind", e);
  }
  chmod(addr.sun_path, (mode_t)mode);
  return start_receiver(env, fd, 0, slot, batch, 1, passcred ? 1 : 0, argv[6]);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *p = NULL;
  napi_value undef;
  napi_get_undefined(env, &undef);
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_unwrap(env, argv[0], &p) != napi_ok) {
    napi_throw_type_error(env, "ERR_NATIVE", "close(handle, done)");
    return NULL;
  }
  receiver_t *r = (receiver_t *)p;
  if (r->closed) {
    // Already closing or closed: nothing to wait for.
    napi_call_function(env, undef, argv[1], 0, NULL, NULL);
    return undef;
  }
  CHECK(env, napi_create_reference(env, argv[1], 1, &r->on_closed));
  stop_receiver(r);
  return undef;
}

static napi_value js_trim_memory(napi_env env, napi_callback_info info) {
  (void)info;
  int released = 0;
#ifdef __GLIBC__
  released = malloc_trim(0);
#endif
  napi_value result;
  CHECK(env, napi_get_boolean(env, released == 1, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  CHECK(env, napi_create_function(env, "open", NAPI_AUTO_LENGTH, js_open, NULL, &fn));
  CHECK(env, napi_set_named_property(env, exports, "open", fn));
  CHECK(env, napi_create_function(env, "openUnix", NAPI_AUTO_LENGTH, js_open_unix, NULL, &fn));
  CHECK(env, napi_set_named_property(env, exports, "openUnix", fn));
  CHECK(env, napi_create_function(env, "close", NAPI_AUTO_LENGTH, js_close, NULL, &fn));
  CHECK(env, napi_set_named_property(env, exports, "close", fn));
  CHECK(env, napi_create_function(env, "trimMemory", NAPI_AUTO_LENGTH, js_trim_memory, NULL, &fn));
  CHECK(env, napi_set_named_property(env, exports, "trimMemory", fn));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
