// Counting SepAgent sink for the benchmark. Receives datagrams on 127.0.0.1:<port> and
// adds up the values of every item whose aggregationType is "count" (counter counts and
// timer counts), so the total equals the counter and timer lines the daemon aggregated.
// A datagram "count <N>" (from the peer's benchmark backend) adds N directly.
// Prints "total <sum> datagrams <n> bytes <b>" every 100 ms when it changed.
//
//   sink --port P [--rcvbuf BYTES]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define BATCH 32
#define MAXDG 65536

static const char KEY[] = "\"aggregationType\":\"count\",";
static const char VAL[] = "\"value\":";

static double scan(const char *p, size_t len) {
  if (len > 6 && memcmp(p, "count ", 6) == 0) return strtod(p + 6, NULL);
  double sum = 0;
  const char *end = p + len;
  while (p < end) {
    const char *k = memmem(p, (size_t)(end - p), KEY, sizeof KEY - 1);
    if (!k) break;
    const char *v = memmem(k, (size_t)(end - k), VAL, sizeof VAL - 1);
    if (!v) break;
    sum += strtod(v + sizeof VAL - 1, NULL);
    p = v + sizeof VAL - 1;
  }
  return sum;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  int port = 0, rcvbuf = 32 << 20;
  static struct option opts[] = {{"port", 1, 0, 'p'}, {"rcvbuf", 1, 0, 'b'}, {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (c == 'p') port = atoi(optarg);
    else if (c == 'b') rcvbuf = atoi(optarg);
    else return 2;
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  // As root, SO_RCVBUFFORCE exceeds net.core.rmem_max: the sink must never be the bottleneck.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 2; }
  socklen_t al = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &al);
  printf("listening %d\n", ntohs(a.sin_port));
  fflush(stdout);

  static char bufs[BATCH][MAXDG + 1];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = MAXDG;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  double total = 0, last_print = 0;
  long datagrams = 0, bytes = 0, printed = -1;
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  for (;;) {
    if (poll(&pfd, 1, 100) > 0) {
      int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
      for (int i = 0; i < n; i++) {
        bufs[i][msgs[i].msg_len] = 0; // strtod must stop at the datagram's end
        total += scan(bufs[i], msgs[i].msg_len);
        bytes += msgs[i].msg_len;
        datagrams++;
      }
    }
    double t = now_s();
    if (datagrams != printed && t - last_print >= 0.1) {
      printf("total %.0f datagrams %ld bytes %ld\n", total, datagrams, bytes);
      fflush(stdout);
      printed = datagrams;
      last_print = t;
    }
  }
}
