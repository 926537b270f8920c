package demo

import "strconv"

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func pad2(i int64) string {
	if i < 10 {
		return "0" + itoa(i)
	}
	return itoa(i)
}
