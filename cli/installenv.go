package cli

import (
	"fmt"
	"strings"

	"github.com/ipcmesh/ipcmesh/election"
)

// envVar is one environment setting written into a client's config.
type envVar struct{ key, val string }

// meshKeys are the settings that say which mesh a peer joins.
var meshKeys = []string{"IPC_HOST", "IPC_PORT", "IPC_DATA_DIR"}

// meshEnv is the settings of e that say which mesh a peer joins, those
// that are set. A client started from a launcher does not have the shell's
// environment, so install writes them, or the client would join the
// default mesh instead of this one. A data folder is written as the
// commands here take it (absolute, a "~" and variables expanded), as the
// client starts in another folder.
func meshEnv(e Env) ([]envVar, error) {
	var env []envVar
	for _, k := range meshKeys {
		v := e.Getenv(k)
		if v == "" {
			continue
		}
		if k == "IPC_DATA_DIR" {
			abs, err := election.DataDirPath(v, e.Getenv)
			if err != nil {
				return nil, err
			}
			v = abs
		}
		env = append(env, envVar{k, v})
	}
	return env, nil
}

// describeEnv says which settings of this environment went into the
// client's config, and that the shared secret never does.
func (in installer) describeEnv(e Env, client string) string {
	var msg string
	if len(in.env) > 0 {
		words := make([]string, len(in.env))
		for i, v := range in.env {
			words[i] = v.key + "=" + v.val
		}
		msg = fmt.Sprintf("Written from this environment, so that %s joins the same mesh as these commands: %s.\n", client, strings.Join(words, " "))
	}
	if e.Getenv("IPC_SHARED_SECRET") != "" {
		msg += fmt.Sprintf("IPC_SHARED_SECRET is set here but was not written: a secret never goes into a config file in clear. Start %s with IPC_SHARED_SECRET in its environment, or unset it everywhere to use the secret file in the data folder.\n", client)
	}
	return msg
}
