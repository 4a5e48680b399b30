package WsPerf::Test;

# Client-side helpers for the WebSocket conformance suite (t/1NN-conf-*.t).
#
# Every case sends the opening handshake followed by client frames in one
# "--- raw_request eval" and compares the bytes after the 101 header block
# with "--- response_body eval" (exact server frames) or, for big messages,
# "--- response_frames eval" (compared as a frame summary with digests).
# With permessage-deflate (RFC 7692), cdeflate() builds compressed client
# messages and "--- response_inflated eval" compares the server's frames
# with their compressed messages inflated (inflated_summary()); both use
# Compress::Raw::Zlib, not the module.
#
# Client frames are built with Protocol::WebSocket::Frame (masked); frames
# that library cannot express (zero masking key, a length field that
# disagrees with the bytes sent, non-minimal length encodings) are packed
# by hand here.  Nothing here uses the module's own codec.
#
# Test::Base evaluates "eval" sections in the package Test::Base::Filter,
# so the helpers are exported there as well as to the caller.

use strict;
use warnings;

use Compress::Raw::Zlib ();
use Digest::SHA qw(sha1 sha1_hex);
use Encode ();
use MIME::Base64 qw(encode_base64);
use Protocol::WebSocket::Frame;
use Test::More ();
use WsPerf::TLS ();

our $KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
our $ACCEPT = encode_base64(sha1($KEY . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'), '');

our $DEFAULT_CONFIG = <<'_EOC_';
    location /echo {
        ws_perf_echo;
        ws_perf_max_message_size 20m;
    }
_EOC_

our $DEFAULT_TIMEOUT = 5;

our @EXPORT = qw(
    ws_init handshake
    cframe ctext cbin ccont cping cpong close_frame cfrags csplit
    sframe stext sbin spong sclose
    u8 cp hexb pattern ascii utext cat frame_summary
    deflate_raw cdeflate inflated_summary sdeflated
);

sub import {
    my @targets = (scalar caller, 'Test::Base::Filter');
    no strict 'refs';
    for my $pkg (@targets) {
        for my $name (@EXPORT) {
            *{"${pkg}::$name"} = \&{"WsPerf::Test::$name"};
        }
    }
}


# ---------------------------------------------------------------- handshake

# The upgrade request for $path (default /echo) with the fixed key; extra
# headers are appended in the order given.
sub handshake {
    my ($path, @headers) = @_;
    $path = '/echo' unless defined $path;

    my $req = "GET $path HTTP/1.1\r\n"
            . "Host: localhost\r\n"
            . "Upgrade: websocket\r\n"
            . "Connection: Upgrade\r\n"
            . "Sec-WebSocket-Key: $KEY\r\n"
            . "Sec-WebSocket-Version: 13\r\n";

    while (@headers) {
        my ($k, $v) = splice @headers, 0, 2;
        $req .= "$k: $v\r\n";
    }

    return $req . "\r\n";
}


# ------------------------------------------------------------ client frames

my $mask_seed = 0x5eed1234;

sub next_mask {
    $mask_seed = ($mask_seed * 1103515245 + 12345) & 0xffffffff;
    $mask_seed = 0x01020304 if $mask_seed == 0;
    return $mask_seed;
}

sub bytes_of {
    my $s = shift;
    $s = '' unless defined $s;
    if (utf8::is_utf8($s)) {
        $s = Encode::encode('UTF-8', $s);
    }
    return $s;
}

# cframe($opcode, $payload, %opt): one client frame.
#   fin  => 0|1          (default 1)
#   rsv  => 0..7         RSV1 = 4, RSV2 = 2, RSV3 = 1 (default 0)
#   mask => 1|0|KEY      1: masked with a fresh key (default); 0: unmasked;
#                        a 4-byte string: that masking key ("\0\0\0\0" too)
#   len  => N            length announced in the header when it must differ
#                        from the payload bytes actually sent
#   enc  => 7|16|64      force a length encoding (default: the minimal one)
#   len_hi => N          raw value of the upper 32 bits of a 64-bit length
sub cframe {
    my ($opcode, $payload, %o) = @_;

    $payload = bytes_of($payload);
    my $fin = defined $o{fin} ? ($o{fin} ? 1 : 0) : 1;
    my $rsv = $o{rsv} || 0;
    my $mask = defined $o{mask} ? $o{mask} : 1;

    my $custom = defined $o{len} || defined $o{enc} || defined $o{len_hi}
                 || length $mask == 4;

    if (!$custom) {
        my $f = Protocol::WebSocket::Frame->new(
            buffer           => $payload,
            opcode           => $opcode,
            fin              => $fin,
            rsv              => [($rsv >> 2) & 1, ($rsv >> 1) & 1, $rsv & 1],
            masked           => $mask ? 1 : 0,
            ($mask ? (mask => next_mask()) : ()),
            max_payload_size => 0,
        );
        return $f->to_bytes;
    }

    my $len = defined $o{len} ? $o{len} : length $payload;
    my $key = length $mask == 4 ? $mask
            : $mask ? pack('N', next_mask())
            : undef;

    return frame_header($opcode, $fin, $rsv, $len, $key, $o{enc}, $o{len_hi})
           . (defined $key ? mask_bytes($payload, $key) : $payload);
}

sub frame_header {
    my ($opcode, $fin, $rsv, $len, $key, $enc, $len_hi) = @_;

    my $b0 = ($fin ? 0x80 : 0) | (($rsv & 7) << 4) | ($opcode & 0x0f);
    my $m = defined $key ? 0x80 : 0;

    if (!defined $enc) {
        $enc = defined $len_hi ? 64 : $len <= 125 ? 7 : $len <= 0xffff ? 16 : 64;
    }

    my $h;
    if ($enc == 7) {
        $h = pack('CC', $b0, $m | $len);
    } elsif ($enc == 16) {
        $h = pack('CCn', $b0, $m | 126, $len);
    } else {
        my $hi = defined $len_hi ? $len_hi : int($len / 4294967296);
        $h = pack('CCNN', $b0, $m | 127, $hi, $len % 4294967296);
    }

    return defined $key ? $h . $key : $h;
}

sub mask_bytes {
    my ($data, $key) = @_;
    my $n = length $data;
    return '' if $n == 0;
    my $k = substr($key x (int($n / 4) + 1), 0, $n);
    return "$data" ^ $k;
}

sub ctext { cframe(0x1, @_) }
sub cbin  { cframe(0x2, @_) }
sub ccont { cframe(0x0, @_) }
sub cping { cframe(0x9, @_) }
sub cpong { cframe(0xa, @_) }

# close_frame(): empty close; close_frame($code[, $reason[, %opt]])
sub close_frame {
    my ($code, $reason, %o) = @_;
    my $payload = defined $code ? pack('n', $code) . bytes_of($reason) : '';
    return cframe(0x8, $payload, %o);
}


# cfrags($opcode, @pieces): one message as len(@pieces) client frames: the
# first carries $opcode, the others are continuations, the last has FIN.
# A piece may be an array ref [$payload, %opt] to pass frame options.
sub cfrags {
    my ($opcode, @pieces) = @_;
    my $out = '';
    for my $i (0 .. $#pieces) {
        my ($payload, %o) = ref $pieces[$i] ? @{ $pieces[$i] } : ($pieces[$i]);
        $out .= cframe($i == 0 ? $opcode : 0x0, $payload,
                       fin => $i == $#pieces ? 1 : 0, %o);
    }
    return $out;
}

# csplit($opcode, $payload, $size): the message cut into $size-byte frames
sub csplit {
    my ($opcode, $payload, $size) = @_;
    my @pieces;
    for (my $off = 0; $off < length $payload; $off += $size) {
        push @pieces, substr($payload, $off, $size);
    }
    push @pieces, '' unless @pieces;
    return cfrags($opcode, @pieces);
}


# deflate_raw($payload[, $window_bits]): the payload compressed on its own
# as permessage-deflate sends it: raw deflate, sync flush, the final
# 00 00 ff ff removed
sub deflate_raw {
    my ($payload, $bits) = @_;
    my ($d, $st) = Compress::Raw::Zlib::Deflate->new(
        -WindowBits => -($bits || 15), -AppendOutput => 1);
    die "deflate: $st\n" unless $d;
    my $out = '';
    $d->deflate(bytes_of($payload), $out) == Compress::Raw::Zlib::Z_OK()
        or die "deflate failed\n";
    $d->flush($out, Compress::Raw::Zlib::Z_SYNC_FLUSH()) == Compress::Raw::Zlib::Z_OK()
        or die "deflate flush failed\n";
    $out =~ s/\x00\x00\xff\xff\z// or die "no sync flush tail\n";
    return $out;
}

# cdeflate($opcode, $payload, %opt): one compressed client message, RSV1
# on its first frame; frames => N cuts it into N frames (between => BYTES
# goes after the first of them, a control frame say); raw => BYTES sends
# those bytes as the compressed payload instead
sub cdeflate {
    my ($opcode, $payload, %o) = @_;
    my $z = defined $o{raw} ? $o{raw} : deflate_raw($payload, $o{bits});
    my $n = $o{frames} || 1;
    my $size = int((length($z) + $n - 1) / $n) || 1;
    my @pieces;
    for (my $off = 0; $off < length $z; $off += $size) {
        push @pieces, substr($z, $off, $size);
    }
    push @pieces, '' while @pieces < $n;
    my $out = '';
    for my $i (0 .. $#pieces) {
        $out .= cframe($i == 0 ? $opcode : 0x0, $pieces[$i],
                       fin => $i == $#pieces ? 1 : 0,
                       rsv => $i == 0 ? 4 : 0);
        $out .= $o{between} if $i == 0 && defined $o{between};
    }
    return $out;
}


# ------------------------------------------------- expected server frames

# sframe($opcode, $payload): an unmasked, unfragmented server frame with
# RSV 0 and the minimal length encoding.
sub sframe {
    my ($opcode, $payload) = @_;
    $payload = bytes_of($payload);
    return frame_header($opcode, 1, 0, length $payload, undef) . $payload;
}

sub stext { sframe(0x1, @_) }
sub sbin  { sframe(0x2, @_) }
sub spong { sframe(0xa, @_) }

# sclose(): empty close; sclose($code): close carrying just the code
sub sclose {
    my ($code) = @_;
    return sframe(0x8, defined $code ? pack('n', $code) : '');
}


# ------------------------------------------------------------------ data

# u8("\x{3ba}\x{1f600}"): a character string as UTF-8 bytes (Perl's own
# encoder, which also writes noncharacters such as U+FFFF)
sub u8 {
    my $s = join '', @_;
    utf8::encode($s);
    return $s;
}

# cp(0x7f, 0x80): code points as UTF-8 bytes
sub cp {
    return u8(map { chr } @_);
}

# cat(@strings): the strings joined ("join" is a Test::Base filter name, so
# calling it from an eval section draws an "ambiguous call" warning)
sub cat {
    return join '', @_;
}

# hexb("ce ba e1 bd 80"): bytes written as hex pairs
sub hexb {
    my $h = join '', @_;
    $h =~ s/\s+//g;
    return pack('H*', $h);
}

# pattern($n[, $seed]): $n deterministic bytes, every value 0..255 occurring
sub pattern {
    my ($n, $seed) = @_;
    $seed ||= 0;
    my $block = join '', map { chr(($_ * 167 + $seed * 13 + 11) & 0xff) } 0 .. 1020;
    my $s = $block x (int($n / length $block) + 1);
    return substr($s, 0, $n);
}


# ascii($n): $n bytes of printable ASCII
sub ascii {
    my ($n) = @_;
    my $block = join '', map { chr(0x20 + ($_ * 7) % 95) } 0 .. 94;
    my $s = $block x (int($n / 95) + 1);
    return substr($s, 0, $n);
}

# utext($n): exactly $n bytes of valid UTF-8 mixing 1- to 4-byte
# characters, so that any cut into pieces splits some code points
sub utext {
    my ($n) = @_;
    my $unit = u8("Hello \x{3ba}\x{1f79}\x{3c3}\x{3bc}\x{3b5} \x{4e16}\x{754c}"
                  . " \x{1f600}\x{10348} \x{7ff}\x{800}\x{ffff}\x{10ffff}.\n");
    my $s = substr($unit x (int($n / length $unit) + 1), 0, $n);
    # replace a code point cut at the end by ASCII
    my $cut = 0;
    for my $back (1 .. 4) {
        last if $back > length $s;
        my $c = ord substr($s, -$back, 1);
        next if ($c & 0xc0) == 0x80;
        my $need = $c < 0x80 ? 1 : $c < 0xe0 ? 2 : $c < 0xf0 ? 3 : 4;
        $cut = $back if $need > $back;
        last;
    }
    substr($s, -$cut) = 'x' x $cut if $cut;
    return $s;
}


# ------------------------------------------------------ response checking

# A readable description of a byte string of server frames, one frame a
# line; payloads over 48 bytes are shown by length and digest.
sub frame_summary {
    my ($buf) = @_;
    $buf = '' unless defined $buf;
    my %names = (0 => 'cont', 1 => 'text', 2 => 'binary', 8 => 'close',
                 9 => 'ping', 10 => 'pong');
    my @out;
    my $pos = 0;
    my $total = length $buf;

    while ($pos < $total) {
        if ($total - $pos < 2) {
            push @out, sprintf('truncated frame header: %d byte(s) %s',
                               $total - $pos, unpack('H*', substr($buf, $pos)));
            last;
        }
        my ($b0, $b1) = unpack('CC', substr($buf, $pos, 2));
        my $hlen = 2;
        my $len = $b1 & 0x7f;
        if ($len == 126) {
            $hlen = 4;
        } elsif ($len == 127) {
            $hlen = 10;
        }
        my $masked = $b1 & 0x80;
        $hlen += 4 if $masked;
        if ($total - $pos < $hlen) {
            push @out, sprintf('truncated frame header: %s',
                               unpack('H*', substr($buf, $pos)));
            last;
        }
        if ($len == 126) {
            $len = unpack('n', substr($buf, $pos + 2, 2));
        } elsif ($len == 127) {
            my ($hi, $lo) = unpack('NN', substr($buf, $pos + 2, 8));
            $len = $hi * 4294967296 + $lo;
        }
        my $op = $b0 & 0x0f;
        my $desc = sprintf('%s fin=%d rsv=%d%s len=%d',
                           $names{$op} // sprintf('opcode-0x%x', $op),
                           $b0 >> 7, ($b0 >> 4) & 7,
                           $masked ? ' MASKED' : '', $len);
        my $avail = $total - $pos - $hlen;
        if ($avail < $len) {
            push @out, "$desc truncated: only $avail payload byte(s)";
            last;
        }
        my $payload = substr($buf, $pos + $hlen, $len);
        if ($masked) {
            $payload = mask_bytes($payload, substr($buf, $pos + $hlen - 4, 4));
        }
        if ($op == 8 && $len >= 2) {
            $desc .= sprintf(' code=%d', unpack('n', $payload));
            $desc .= ' reason=' . show(substr($payload, 2)) if $len > 2;
        } elsif ($len <= 48) {
            $desc .= ' ' . show($payload);
        } else {
            $desc .= ' sha1=' . substr(sha1_hex($payload), 0, 16);
        }
        push @out, $desc;
        $pos += $hlen + $len;
    }

    return join('', map { "$_\n" } @out);
}

# As frame_summary(), but a frame with RSV1 is inflated (raw deflate, the
# 00 00 ff ff tail put back) and reads as sdeflated() gives it: "text
# deflated len=N" and the inflated payload (or its digest); one that does
# not inflate reads "NOT DEFLATE".  Server frames are never fragmented.
sub inflated_summary {
    my ($buf) = @_;
    my @lines;
    my $pos = 0;
    $buf = '' unless defined $buf;

    while ($pos + 2 <= length $buf) {
        my ($b0, $b1) = unpack('CC', substr($buf, $pos, 2));
        my $len = $b1 & 0x7f;
        my $hlen = $len == 126 ? 4 : $len == 127 ? 10 : 2;
        last if $pos + $hlen > length $buf;
        if ($len == 126) {
            $len = unpack('n', substr($buf, $pos + 2, 2));
        } elsif ($len == 127) {
            my ($hi, $lo) = unpack('NN', substr($buf, $pos + 2, 8));
            $len = $hi * 4294967296 + $lo;
        }
        my $frame = substr($buf, $pos, $hlen + $len);
        $pos += $hlen + $len;

        if (!($b0 & 0x40)) {
            push @lines, frame_summary($frame);
            next;
        }

        my $payload = substr($frame, $hlen);
        my ($i) = Compress::Raw::Zlib::Inflate->new(-WindowBits => -15);
        my $out = '';
        my $st = $i->inflate($payload . "\x00\x00\xff\xff", $out);
        my $op = ($b0 & 0x0f) == 1 ? 'text' : ($b0 & 0x0f) == 2 ? 'binary'
               : sprintf('opcode-0x%x', $b0 & 0x0f);
        if ($st != Compress::Raw::Zlib::Z_OK()
            && $st != Compress::Raw::Zlib::Z_STREAM_END())
        {
            push @lines, "$op deflated NOT DEFLATE\n";
            next;
        }
        push @lines, sdeflated($b0 & 0x0f, $out);
    }

    push @lines, "trailing bytes\n" if $pos != length $buf;

    return join '', @lines;
}

# the line inflated_summary() gives a compressed message of this payload
sub sdeflated {
    my ($opcode, $payload) = @_;
    $payload = bytes_of($payload);
    my $op = $opcode == 1 ? 'text' : $opcode == 2 ? 'binary'
           : sprintf('opcode-0x%x', $opcode);
    my $d = length $payload <= 48 ? show($payload)
          : 'sha1=' . substr(sha1_hex($payload), 0, 16);
    return "$op deflated len=" . length($payload) . " $d\n";
}

sub show {
    my $s = shift;
    $s =~ s/([^\x20-\x7e]|["\\])/sprintf('\\x%02x', ord $1)/ge;
    return qq{"$s"};
}

# Fills in the sections every case shares, unless the block sets them.
sub block_defaults {
    my $block = shift;
    my $name = $block->name;

    $block->set_value('config', $DEFAULT_CONFIG)
        unless defined $block->config;

    $block->set_value('timeout', $DEFAULT_TIMEOUT)
        unless defined $block->timeout;

    if (!defined $block->error_code && !defined $block->error_code_like) {
        $block->set_value('error_code', 101);
        $block->set_value('raw_response_headers_like',
            qr/\AHTTP\/1\.1 101 Switching Protocols\r\n/
            . qr/Upgrade: websocket\r\nConnection: Upgrade\r\n/
            . qr/Sec-WebSocket-Accept: \Q$ACCEPT\E\r\n\z/)
            unless defined $block->raw_response_headers_like;
    }

    # Test::Base turns a failing "eval" section into the error text: refuse
    # to run such a block rather than send or expect the error message.
    my $req = $block->raw_request;
    my $first = ref $req eq 'ARRAY' ? $req->[0] : $req;
    if (!defined $first || $first !~ /\A[A-Z]+ \S+ HTTP\/\d/) {
        die "$name: --- raw_request does not start with a request line"
            . " (eval error?): " . (defined $first ? substr($first, 0, 300) : 'undef')
            . "\n";
    }
    for my $s (qw(response_body response_frames response_inflated)) {
        my $v = $block->$s;
        if (defined $v && !ref $v && $v =~ /\bat \(eval \d+\) line \d+/) {
            die "$name: --- $s eval failed: $v\n";
        }
    }

    # WS_PERF_TLS=1: the same bytes through an ssl listener (WsPerf::TLS)
    WsPerf::TLS::tls_block($block);
}

# Response body check: "--- response_frames eval" compares frame by frame
# (payload digests), and a failed "--- response_body" gets a frame-level
# description of both sides.
sub body_check {
    my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;
    my $name = $block->name;

    my $frames = $block->response_frames;
    if (defined $frames) {
        SKIP: {
            Test::More::skip("$name - response_frames - tests skipped due to $dry_run", 1)
                if $dry_run;
            Test::More::is(frame_summary($body), frame_summary($frames),
                           "$name - response_frames");
        }
    }

    my $inflated = $block->response_inflated;
    if (defined $inflated) {
        SKIP: {
            Test::More::skip("$name - response_inflated - tests skipped due to $dry_run", 1)
                if $dry_run;
            Test::More::is(inflated_summary($body), $inflated,
                           "$name - response_inflated");
        }
    }

    my $expected = $block->response_body;
    if (!$dry_run && defined $expected && !ref $expected
        && (!defined $body || $body ne $expected))
    {
        Test::More::diag("$name - server frames received:\n"
                         . frame_summary($body)
                         . "server frames expected:\n"
                         . frame_summary($expected));
    }
}

# ws_init(): call once in each .t file before run_tests().
sub ws_init {
    my $pre = Test::Nginx::Socket->can('add_block_preprocessor')
              || main->can('add_block_preprocessor')
              or die "add_block_preprocessor not available\n";
    my $chk = Test::Nginx::Socket->can('add_response_body_check')
              || main->can('add_response_body_check')
              or die "add_response_body_check not available\n";
    $pre->(\&block_defaults);
    $chk->(\&body_check);
}

1;
