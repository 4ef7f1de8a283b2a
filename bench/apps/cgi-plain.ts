// A plain node CGI script, the CGI suite's baseline: what a hand-written hello CGI costs with no
// harness at all (RFC 3875 6.2: a Status/Content-Type header block, a blank line, the body).
const body = 'Hello, World!\n';
process.stdout.write(`Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
