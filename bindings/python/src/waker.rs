//! Wakes an event loop's thread from the runtime without the GIL: a descriptor the loop watches
//! with `add_reader` becomes readable.
//!
//! Linux uses an eventfd. Everywhere else a connected pair of sockets (a Unix socket pair on
//! unix, a loopback TCP pair elsewhere) does the same job; `POTO_PYTHON_WAKER=socket` in the
//! environment when `poto_sessions` is imported selects it on Linux too, so the Linux test
//! suite runs the portable path as well (`eventfd` selects the default; `_native._waker_kind()`
//! says which one is in use).

use std::io::{self, Read, Write};
use std::sync::OnceLock;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    #[cfg(target_os = "linux")]
    EventFd,
    Socket,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(target_os = "linux")]
            Kind::EventFd => "eventfd",
            Kind::Socket => "socket",
        }
    }
}

const ENV: &str = "POTO_PYTHON_WAKER";
static KIND: OnceLock<Kind> = OnceLock::new();

/// Reads `POTO_PYTHON_WAKER` once (at import); an unknown value is an error.
pub fn init() -> Result<Kind, String> {
    let wanted = std::env::var(ENV).unwrap_or_default();
    let kind = match wanted.as_str() {
        "" => default_kind(),
        "socket" => Kind::Socket,
        #[cfg(target_os = "linux")]
        "eventfd" => Kind::EventFd,
        other => return Err(format!("{ENV}={other:?} is not supported here (use \"socket\" or leave it unset)")),
    };
    Ok(*KIND.get_or_init(|| kind))
}

fn default_kind() -> Kind {
    #[cfg(target_os = "linux")]
    return Kind::EventFd;
    #[cfg(not(target_os = "linux"))]
    return Kind::Socket;
}

pub fn kind() -> Kind {
    *KIND.get_or_init(default_kind)
}

#[cfg(unix)]
type Stream = std::os::unix::net::UnixStream;
#[cfg(not(unix))]
type Stream = std::net::TcpStream;

#[cfg(unix)]
fn stream_pair() -> io::Result<(Stream, Stream)> {
    Stream::pair()
}

/// A loopback TCP pair (as Python's `socket.socketpair` on Windows), checking that the accepted
/// peer is the socket this function connected.
#[cfg(not(unix))]
fn stream_pair() -> io::Result<(Stream, Stream)> {
    let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?;
    let writer = Stream::connect(listener.local_addr()?)?;
    writer.set_nodelay(true)?;
    loop {
        let (reader, peer) = listener.accept()?;
        if peer == writer.local_addr()? {
            return Ok((reader, writer));
        }
    }
}

enum Inner {
    #[cfg(target_os = "linux")]
    EventFd(std::os::fd::OwnedFd),
    Socket {
        reader: Stream,
        writer: Stream,
    },
}

pub struct Waker(Inner);

impl Waker {
    pub fn new() -> io::Result<Self> {
        match kind() {
            #[cfg(target_os = "linux")]
            Kind::EventFd => {
                use std::os::fd::FromRawFd;
                // SAFETY: plain eventfd creation; the descriptor is owned from here on.
                let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
                if fd < 0 {
                    return Err(io::Error::last_os_error());
                }
                // SAFETY: `fd` is a fresh descriptor nobody else owns.
                Ok(Waker(Inner::EventFd(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })))
            }
            Kind::Socket => {
                let (reader, writer) = stream_pair()?;
                reader.set_nonblocking(true)?;
                writer.set_nonblocking(true)?;
                Ok(Waker(Inner::Socket { reader, writer }))
            }
        }
    }

    /// What the loop watches (`loop.add_reader(fileno, ...)`).
    pub fn fileno(&self) -> i64 {
        match &self.0 {
            #[cfg(target_os = "linux")]
            Inner::EventFd(fd) => std::os::fd::AsRawFd::as_raw_fd(fd) as i64,
            #[cfg(unix)]
            Inner::Socket { reader, .. } => std::os::fd::AsRawFd::as_raw_fd(reader) as i64,
            #[cfg(not(unix))]
            Inner::Socket { reader, .. } => std::os::windows::io::AsRawSocket::as_raw_socket(reader) as i64,
        }
    }

    /// Makes the descriptor readable (a full socket buffer is already readable: ignored).
    pub fn wake(&self) {
        match &self.0 {
            #[cfg(target_os = "linux")]
            Inner::EventFd(fd) => {
                let one: u64 = 1;
                // SAFETY: writing 8 bytes to our own eventfd.
                unsafe { libc::write(std::os::fd::AsRawFd::as_raw_fd(fd), (&one as *const u64).cast(), 8) };
            }
            Inner::Socket { writer, .. } => {
                let _ = (&*writer).write(&[1]);
            }
        }
    }

    /// Makes it unreadable again, before the queued work is taken.
    pub fn clear(&self) {
        match &self.0 {
            #[cfg(target_os = "linux")]
            Inner::EventFd(fd) => {
                let mut buffer = 0u64;
                // SAFETY: reading 8 bytes from our own non-blocking eventfd.
                unsafe { libc::read(std::os::fd::AsRawFd::as_raw_fd(fd), (&mut buffer as *mut u64).cast(), 8) };
            }
            Inner::Socket { reader, .. } => {
                let mut buffer = [0u8; 64];
                while matches!((&*reader).read(&mut buffer), Ok(n) if n == buffer.len()) {}
            }
        }
    }
}
