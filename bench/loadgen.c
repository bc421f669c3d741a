// Envoy-shaped StatsD load generator: prebuilt datagrams sent with sendmmsg(2) at a
// target line rate. Prints one JSON object with what was sent.
//
//   loadgen --port P [--host 127.0.0.1] [--lines-per-datagram N] [--series S]
//           [--rate LINES_PER_S] [--duration S] [--mix C:G:T] [--burst-interval S]
//           [--bursts N] [--generation G] [--series-per-sep N] [--sockets K]
//
// Series i is a counter, gauge or timer by the C:G:T mix and is named
// envoy.cluster.external_cluster_sep<k>.<stat>_<j>. Counter lines carry 1, so the sum of
// flushed counter values equals the counter lines received; timers count one each.
// --burst-interval S: every S seconds send ALL counter and gauge series at once, as
// Envoy's statsd sink does at each stats flush; timers flow at --rate in between.
// --bursts N (with --burst-interval): stop after N bursts.
// --generation G: suffix every name with _gG, so each generation is a new set of series.
// --series-per-sep N: about N series per SEP (cluster) when there are 1,000 series or more
// (default 100); with fewer series there are about 50 SEPs. Every SEP gets the C:G:T mix.
// --sockets K: send from K sockets (K source ports, default 1), each its own share of the
// series (as K senders with their own metrics), so that a receiver with several
// SO_REUSEPORT sockets (max-workers >= 2) gets them spread by sender.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static const char *COUNTERS[] = {"upstream_rq_total", "upstream_rq_2xx", "upstream_rq_5xx", "upstream_cx_total",
                                 "upstream_rq_retry", "upstream_cx_destroy", "upstream_rq_timeout", "upstream_cx_rx_bytes_total"};
static const char *GAUGES[] = {"upstream_cx_active", "upstream_rq_active", "membership_healthy", "membership_total"};
static const char *TIMERS[] = {"upstream_rq_time", "upstream_cx_length_ms", "upstream_cx_connect_ms"};

struct datagram {
  char *data;
  size_t len;
  int lines, counters, timers;
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *msg) {
  perror(msg);
  exit(2);
}

static long series_per_sep = 100;
// --generation G > 0 gives every series name a `_gG` suffix: a new set of series (churn).
static int generation = 0;

// kind: 0 counter, 1 gauge, 2 timer
static int kind_of(long i, int mc, int mg, int mt) {
  long r = i % (mc + mg + mt);
  return r < mc ? 0 : r < mc + mg ? 1 : 2;
}

static long gcd(long a, long b) { return b == 0 ? a : gcd(b, a % b); }

// SEP k holds series k, k + seps, k + 2 seps, ... The SEP count is made coprime with the
// mix period (counters, gauges and timers repeat every C+G+T series), so that every SEP
// gets the mix, as an Envoy cluster does, rather than one kind of stat.
static long sep_count(long series, long period) {
  long seps = series >= 1000 ? series / series_per_sep : 50;
  while (gcd(seps, period) != 1) seps++;
  return seps;
}

static int render(char *out, long i, int kind, long series, long period) {
  long seps = sep_count(series, period);
  long sep = i % seps, j = i / seps;
  char gen[24] = "";
  if (generation > 0) snprintf(gen, sizeof gen, "_g%d", generation);
  switch (kind) {
    case 0: return sprintf(out, "envoy.cluster.external_cluster_sep%ld.%s_%ld%s:1|c", sep, COUNTERS[j % 8], j / 8, gen);
    case 1: return sprintf(out, "envoy.cluster.external_cluster_sep%ld.%s_%ld%s:%ld|g", sep, GAUGES[j % 4], j / 4, gen, i % 97);
    default: return sprintf(out, "envoy.cluster.external_cluster_sep%ld.%s_%ld%s:%ld|ms", sep, TIMERS[j % 3], j / 3, gen, (i * 7) % 1000);
  }
}

// Builds datagrams of `lpd` lines from the series whose kind passes `want` (bitmask).
static struct datagram *build(long series, int lpd, int mc, int mg, int mt, int want, long *count) {
  long n = 0;
  for (long i = 0; i < series; i++) if (want & (1 << kind_of(i, mc, mg, mt))) n++;
  long nd = (n + lpd - 1) / lpd;
  struct datagram *d = calloc(nd ? nd : 1, sizeof *d);
  char line[256];
  long i = 0;
  for (long k = 0; k < nd; k++) {
    d[k].data = malloc((size_t)lpd * 256);
    size_t off = 0;
    for (int l = 0; l < lpd; l++) {
      while (!(want & (1 << kind_of(i % series, mc, mg, mt)))) i++;
      int kind = kind_of(i % series, mc, mg, mt);
      int len = render(line, i % series, kind, series, mc + mg + mt);
      i++;
      if (l > 0) d[k].data[off++] = '\n';
      memcpy(d[k].data + off, line, (size_t)len);
      off += (size_t)len;
      d[k].lines++;
      if (kind == 0) d[k].counters++;
      if (kind == 2) d[k].timers++;
    }
    d[k].len = off;
  }
  *count = nd;
  return d;
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  int port = 8125, lpd = 1, mc = 60, mg = 25, mt = 15, bursts = 0, nfd = 1;
  long series = 1000;
  double rate = 100000, duration = 5, burst_interval = 0;
  static struct option opts[] = {{"host", 1, 0, 'H'}, {"port", 1, 0, 'p'}, {"lines-per-datagram", 1, 0, 'l'},
                                 {"series", 1, 0, 's'}, {"rate", 1, 0, 'r'}, {"duration", 1, 0, 'd'},
                                 {"mix", 1, 0, 'm'}, {"burst-interval", 1, 0, 'b'}, {"bursts", 1, 0, 'n'},
                                 {"generation", 1, 0, 'g'}, {"series-per-sep", 1, 0, 'S'},
                                 {"sockets", 1, 0, 'k'}, {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
      case 'H': host = optarg; break;
      case 'p': port = atoi(optarg); break;
      case 'l': lpd = atoi(optarg); break;
      case 's': series = atol(optarg); break;
      case 'r': rate = atof(optarg); break;
      case 'd': duration = atof(optarg); break;
      case 'm': if (sscanf(optarg, "%d:%d:%d", &mc, &mg, &mt) != 3) { fprintf(stderr, "--mix C:G:T\n"); return 2; } break;
      case 'b': burst_interval = atof(optarg); break;
      case 'n': bursts = atoi(optarg); break;
      case 'g': generation = atoi(optarg); break;
      case 'S': series_per_sep = atol(optarg) > 0 ? atol(optarg) : 100; break;
      case 'k': nfd = atoi(optarg); break;
      default: fprintf(stderr, "see the comment at the top of loadgen.c\n"); return 2;
    }
  }
  if (lpd < 1 || series < 1 || mc + mg + mt <= 0 || nfd < 1 || nfd > 64) { fprintf(stderr, "bad arguments\n"); return 2; }

  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &to.sin_addr) != 1) { fprintf(stderr, "bad host\n"); return 2; }
  int fds[64];
  for (int k = 0; k < nfd; k++) {
    fds[k] = socket(AF_INET, SOCK_DGRAM, 0);
    if (fds[k] < 0) die("socket");
    int sndbuf = 8 << 20;
    setsockopt(fds[k], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    if (connect(fds[k], (struct sockaddr *)&to, sizeof to) < 0) die("connect");
  }

  long n_steady, n_burst = 0;
  int steady_mask = burst_interval > 0 ? 4 : 7;
  struct datagram *steady = build(series, lpd, mc, mg, mt, steady_mask, &n_steady);
  struct datagram *burst = burst_interval > 0 ? build(series, lpd, mc, mg, mt, 3, &n_burst) : NULL;

  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int k = 0; k < BATCH; k++) {
    msgs[k].msg_hdr.msg_iov = &iov[k];
    msgs[k].msg_hdr.msg_iovlen = 1;
  }
  long sent_dg = 0, sent_lines = 0, sent_counters = 0, sent_timers = 0, errors = 0, done_bursts = 0;
  long pos = 0;
  double dg_rate = rate / lpd;
  double t0 = now_s(), next_burst = burst_interval > 0 ? t0 : 1e300;
  long steady_sent = 0;

  for (;;) {
    double t = now_s();
    if (bursts > 0 && done_bursts >= bursts) break;
    if (bursts == 0 && t - t0 >= duration) break;
    if (t >= next_burst) {
      for (long k = 0; k < n_burst;) {
        long share = (n_burst + nfd - 1) / nfd;
        int b = 0;
        for (; b < BATCH && k + b < n_burst && b < share - k % share; b++) {
          iov[b].iov_base = burst[k + b].data;
          iov[b].iov_len = burst[k + b].len;
        }
        int r = sendmmsg(fds[(k / share) % nfd], msgs, (unsigned)b, 0);
        if (r < 0) {
          if (errno == EAGAIN || errno == ENOBUFS) continue;
          errors++;
          r = 1;
        }
        for (int q = 0; q < r; q++) {
          sent_dg++;
          sent_lines += burst[k + q].lines;
          sent_counters += burst[k + q].counters;
          sent_timers += burst[k + q].timers;
        }
        k += r;
      }
      done_bursts++;
      next_burst += burst_interval;
      continue;
    }
    if (n_steady == 0 || (burst_interval > 0 && mt == 0)) {
      usleep(100);
      continue;
    }
    long due = rate > 0 ? (long)((t - t0) * dg_rate) - steady_sent : BATCH;
    if (due <= 0) {
      struct timespec ts = {0, 20000};
      nanosleep(&ts, NULL);
      continue;
    }
    // Socket k sends datagrams [k * share, (k + 1) * share): a batch never crosses a share.
    long share = (n_steady + nfd - 1) / nfd;
    long room = share - pos % share;
    int b = 0;
    for (; b < BATCH && b < due && b < room; b++) {
      struct datagram *d = &steady[(pos + b) % n_steady];
      iov[b].iov_base = d->data;
      iov[b].iov_len = d->len;
    }
    int r = sendmmsg(fds[(pos / share) % nfd], msgs, (unsigned)b, 0);
    if (r < 0) {
      if (errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED) errors++;
      continue;
    }
    for (int q = 0; q < r; q++) {
      struct datagram *d = &steady[(pos + q) % n_steady];
      sent_dg++;
      sent_lines += d->lines;
      sent_counters += d->counters;
      sent_timers += d->timers;
    }
    pos = (pos + r) % n_steady;
    steady_sent += r;
  }
  double elapsed = now_s() - t0;
  printf("{\"datagrams\":%ld,\"lines\":%ld,\"counters\":%ld,\"timers\":%ld,\"elapsed\":%.4f,\"lineRate\":%.0f,\"errors\":%ld}\n",
         sent_dg, sent_lines, sent_counters, sent_timers, elapsed, sent_lines / elapsed, errors);
  return 0;
}
