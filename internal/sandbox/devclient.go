package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// devClientFile keeps the development client of a data directory.
const devClientFile = "sandbox-client.json"

// DevClientIn returns the development client kept in dir, creating it (0600) on first
// use and adding redirectURI to it if it is new. A sandbox that keeps its state in dir
// across restarts must keep its client too: the tokens it issued belong to it.
func DevClientIn(dir, redirectURI string) (Client, error) {
	path := filepath.Join(dir, devClientFile)
	var c Client
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c = DevClient(redirectURI)
	case err != nil:
		return Client{}, err
	default:
		if err := json.Unmarshal(b, &c); err != nil || c.ID == "" || c.Secret == "" {
			return Client{}, fmt.Errorf("%s is not a sandbox client; move it away to get a new one", path)
		}
		if slices.Contains(c.RedirectURIs, redirectURI) {
			return c, nil
		}
		c.RedirectURIs = append(c.RedirectURIs, redirectURI)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Client{}, err
	}
	out, _ := json.MarshalIndent(c, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(out, '\n'), 0o600); err != nil {
		return Client{}, err
	}
	return c, os.Rename(tmp, path)
}
