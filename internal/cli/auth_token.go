package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// runToken prints the access token for scripts, refreshed first when due.
func runToken(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	cfg, host, err := authFlags(cmdToken, args, os.Stderr)
	if err != nil {
		return err
	}
	tok, err := envToken()
	if err != nil {
		return err
	}
	if tok != "" {
		fmt.Fprintln(stdout, tok)
		return nil
	}
	ts, err := tokenSource(cfg, host, logger)
	if err != nil {
		return err
	}
	defer waitForRefresh(ts)
	tok, err = ts.TokenAfterRefresh(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
