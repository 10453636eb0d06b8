/* `yijian member`: the member client, reference client of the token
 * protocol (RFC 9497 VOPRF, ristretto255-SHA512; DESIGN §3). It speaks to
 * a running service over HTTP and needs no database and no master key. */
#ifndef YIJIAN_CLIENT_MEMBER_H
#define YIJIAN_CLIENT_MEMBER_H

/* Runs `member ARGS...`; argv[0] is "member". Returns the exit code: 0,
 * 1 on failure (a message on stderr), 2 on a usage error. */
int member_main(int argc, char **argv);

#endif
