package sink

import "strings"

// clusterSlot returns the Redis Cluster hash slot of key: CRC16 (XMODEM) of
// the key's hash tag, or of the whole key when it has none, modulo 16384
// (the cluster specification's appendix A; go-redis keeps its copy
// internal). The Writer needs it to give each slot its own MULTI/EXEC, as a
// cluster transaction cannot span slots.
func clusterSlot(key string) int {
	if s := strings.IndexByte(key, '{'); s >= 0 {
		if e := strings.IndexByte(key[s+1:], '}'); e > 0 {
			key = key[s+1 : s+1+e]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}
