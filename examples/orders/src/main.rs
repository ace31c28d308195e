use lambda_http::{run, service_fn, Error};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(service_fn(|request| async move { Ok::<_, Error>(orders_example::handle(&request)) })).await
}
