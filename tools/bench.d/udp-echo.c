/* Socket floor for tools/bench: a no-DNS UDP echo on one thread.
 * Receives a batch with recvmmsg, sets the QR bit of each datagram and sends the batch back
 * with sendmmsg. Its CPU per query is what the kernel's UDP path costs on this machine; no
 * DNS server can go below it with plain sockets.  Usage: udp-echo PORT [ADDRESS] */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BATCH = 64, SIZE = 1232 };

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: udp-echo PORT [ADDRESS]\n"); return 2; }
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(argv[1]));
  if (inet_pton(AF_INET, argc > 2 ? argv[2] : "127.0.0.1", &a.sin_addr) != 1) { fprintf(stderr, "bad address\n"); return 2; }
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("udp-echo"); return 1; }
  fprintf(stderr, "udp-echo listening on %s:%s\n", argc > 2 ? argv[2] : "127.0.0.1", argv[1]);
  static char buf[BATCH][SIZE];
  static struct sockaddr_in from[BATCH];
  struct mmsghdr m[BATCH];
  struct iovec io[BATCH];
  for (;;) {
    memset(m, 0, sizeof m);
    for (int i = 0; i < BATCH; i++) {
      io[i].iov_base = buf[i];
      io[i].iov_len = SIZE;
      m[i].msg_hdr.msg_iov = &io[i];
      m[i].msg_hdr.msg_iovlen = 1;
      m[i].msg_hdr.msg_name = &from[i];
      m[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    int n = recvmmsg(s, m, BATCH, MSG_WAITFORONE, NULL);
    if (n < 0) { if (errno == EINTR) continue; perror("recvmmsg"); return 1; }
    for (int i = 0; i < n; i++) {
      io[i].iov_len = m[i].msg_len;
      if (m[i].msg_len > 2) buf[i][2] |= (char)0x80; /* QR */
    }
    for (int done = 0; done < n;) {
      int k = sendmmsg(s, m + done, (unsigned)(n - done), 0);
      if (k < 0) { if (errno == EINTR) continue; break; }
      done += k;
    }
  }
}
