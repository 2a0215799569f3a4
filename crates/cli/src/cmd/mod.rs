pub mod demo;
pub mod live;
pub mod sim;
pub mod watch;
