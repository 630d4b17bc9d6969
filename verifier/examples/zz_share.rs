fn main() {
    let a: Vec<String> = std::env::args().collect();
    let f = std::fs::File::open(&a[1]).unwrap();
    let o = urne_verify::Options {
        threads: 1,
        ballot_share: Some(urne_verify::BallotShare {
            index: 0,
            of: a[2].parse().unwrap(),
        }),
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let r = urne_verify::verify_export(std::io::BufReader::new(f), &o);
    eprintln!("{:?} {:?}", r.status, t.elapsed());
}
