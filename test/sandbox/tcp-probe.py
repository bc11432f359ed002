# Runs inside the sandbox: one TCP connection attempt, printing CONNECTED or the error class.
import socket
import sys

host, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ':' in host else socket.AF_INET
s = socket.socket(family, socket.SOCK_STREAM)
s.settimeout(8)
try:
    s.connect((host, port))
    print('CONNECTED')
    sys.exit(0)
except OSError as e:
    print(type(e).__name__, e)
    sys.exit(3)
