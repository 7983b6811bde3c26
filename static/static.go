// Package static embeds the stylesheets and images served under /static/.
package static

import "embed"

//go:embed css
var FS embed.FS
