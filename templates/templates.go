// Package templates embeds the HTML templates into the binary.
//
// app/ holds the web app's pages and layout, sandbox/ the sandbox's Connect pages.
// Consumers take an fs.FS and never import this package directly, so a test can pass
// an fstest.MapFS and a dev mode can pass os.DirFS("templates").
package templates

import "embed"

//go:embed app sandbox
var FS embed.FS
