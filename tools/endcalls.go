package tools

import (
	"context"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// EndCallsWith returns a middleware that ends each call, besides when the
// SDK ends it, once the context over gives for that call is done; over
// returning nil leaves the call as it is. The SDK lets a call run on when
// its server session is closed, and a stateless HTTP call when its
// request is gone (but at protocol 2026-07-28 and later): a check waiting
// for mail then waited out its wait_seconds, up to 10 minutes, and took
// the next message that came, marked it read and answered it to a client
// that was gone.
func EndCallsWith(over func(call context.Context) context.Context) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			done := over(ctx)
			if done == nil {
				return next(ctx, method, req)
			}
			ctx, cancel := context.WithCancelCause(ctx)
			defer cancel(nil)
			stop := context.AfterFunc(done, func() { cancel(context.Cause(done)) })
			defer stop()
			return next(ctx, method, req)
		}
	}
}
