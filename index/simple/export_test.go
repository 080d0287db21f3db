package simple

// Renderers, exported for the benchmarks.
var (
	RenderProjectJSON = renderProjectJSON
	RenderProjectHTML = renderProjectHTML
)

// Renders returns how many pages have been rendered so far.
func Renders() int64 { return renders.Load() }
