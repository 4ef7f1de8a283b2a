<?php
// The php-fpm peer: the same routes and bytes as bench/apps/hello.ts and bench/go/hello.go.
$uri = $_SERVER['REQUEST_URI'];
$q = strpos($uri, '?');
$path = $q === false ? $uri : substr($uri, 0, $q);
if ($path === '/64k') {
    header('Content-Type: application/octet-stream');
    header('Content-Length: 65536');
    echo str_repeat('x', 65536);
} elseif ($path === '/post') {
    $in = fopen('php://input', 'rb');
    $n = 0;
    while (!feof($in)) {
        $n += strlen(fread($in, 65536));
    }
    header('Content-Type: text/plain');
    echo "received $n\n";
} else {
    header('Content-Type: text/plain');
    header('Content-Length: 14');
    echo "Hello, World!\n";
}
