// Package static embeds the stylesheets and scripts served under /static/.
package static

import "embed"

//go:embed css js
var FS embed.FS
