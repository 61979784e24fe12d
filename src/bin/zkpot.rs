//! The zkpot command-line tool.

fn main() {
    println!("zkpot");
}
