package cli

import (
	"context"
	"errors"
)

func runBench(ctx context.Context, e Env, args []string) error {
	return errors.New("not built yet")
}
