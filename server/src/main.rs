//! `urne`: the voting service and everyone's command line.

fn main() {
    eprintln!("urne: not yet implemented");
    std::process::exit(2);
}
