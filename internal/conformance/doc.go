// Package conformance runs the official Smartcar SDKs, unmodified, against the sandbox.
//
// The tests live in node_test.go (the Node SDK, npm smartcar, pinned in node/package.json).
// Each starts the sandbox in-process on a loopback port and points the SDK at it only
// through the environment variables the SDK itself honours, so a pass means an app
// written with that SDK cannot tell the sandbox from Smartcar test mode.
//
// Run: go test ./internal/conformance/ -run TestNodeSDK -v
package conformance
