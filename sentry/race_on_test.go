//go:build race

package sentry

// raceEnabled: the race detector multiplies memory and time, so peak-RSS
// figures mean nothing under it.
const raceEnabled = true
