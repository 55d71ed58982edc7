//! Where the platform may send callbacks. A reseller must not be able to make kameng call into
//! its own or the platform's network, so loopback, private, link-local, CGNAT, multicast and
//! other special addresses are refused — after DNS resolution, and the request then connects to
//! exactly the address that was checked (no DNS rebinding between check and use).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (64..128).contains(&o[1])) // CGNAT 100.64/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (18..20).contains(&o[1])) // benchmarking
        || o[0] >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // unique local
        || (seg[0] & 0xffc0) == 0xfe80 // link local
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        || (seg[0] == 0x0064 && seg[1] == 0xff9b)) // NAT64 can reach private v4
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("not an http(s) URL")]
    Scheme,
    #[error("host does not resolve")]
    Unresolvable,
    #[error("refused: {0} is not a public address")]
    Private(IpAddr),
}

/// Resolves the URL's host and returns the address to connect to, refusing non-public ones
/// unless `allow_private`.
pub async fn resolve_target(
    url: &url::Url,
    allow_private: bool,
) -> Result<SocketAddr, TargetError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetError::Scheme);
    }
    let host = url.host_str().ok_or(TargetError::Scheme)?;
    let port = url.port_or_known_default().ok_or(TargetError::Scheme)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| TargetError::Unresolvable)?
            .collect(),
    };
    let first = *addrs.first().ok_or(TargetError::Unresolvable)?;
    if !allow_private {
        // Every answer must be public: an attacker's DNS could mix a public and a private one.
        if let Some(bad) = addrs.iter().find(|a| !is_public_ip(a.ip())) {
            return Err(TargetError::Private(bad.ip()));
        }
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!is_public_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public_ip(ip.parse().unwrap()), "{ip}");
        }
    }
}
