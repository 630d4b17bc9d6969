//! `urne-verify`: checks an exported urne election, trusting nothing the server says.

fn main() {
    eprintln!("urne-verify: not yet implemented");
    std::process::exit(2);
}
