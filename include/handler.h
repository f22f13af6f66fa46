/*
 * handler: one function per endpoint, each in its handler_*.c file.
 * A handler answers through reply.h, now or later (after request_hold),
 * exactly once.
 */
#ifndef TOKEND_HANDLER_H
#define TOKEND_HANDLER_H

struct request;

typedef void (*handler_fn)(struct request *);

/* handler_ops.c */
void	 handler_healthz(struct request *);
void	 handler_readyz(struct request *);
void	 handler_index(struct request *);

#endif
