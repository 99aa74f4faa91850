# The receiver of tests/real/*.sh: accept one TCP connection on the port
# argv[1], touch argv[2] once listening, read to EOF, and print
# "bytes seconds" (from accept() returning to EOF), so every sender's
# goodput is measured the same way.
import socket
import sys
import time

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(1)
open(sys.argv[2], "w").close()  # "listening"
c, _ = s.accept()
t0 = time.monotonic()
n = 0
buf = bytearray(1 << 20)
while True:
    k = c.recv_into(buf)
    if k == 0:
        break
    n += k
t = time.monotonic() - t0
c.close()
print(n, t)
