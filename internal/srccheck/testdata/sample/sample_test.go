package sample

import "bytes"

func sameMAC(mac, b []byte) bool { return bytes.Equal(mac, b) }
