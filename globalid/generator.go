package globalid

import "context"

// Generator makes global IDs. Next returns n new IDs, in increasing order;
// it is safe for concurrent use. An error means no ID was handed out (IDs
// taken from a block and then lost to an error or a cancelled ctx are
// gaps, never reused).
type Generator interface {
	Next(ctx context.Context, n int) ([]int64, error)
}
